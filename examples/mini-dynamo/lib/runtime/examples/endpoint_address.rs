//! Prints an endpoint's address. Upstream's lib/runtime has Cargo examples like this one: `cargo
//! test` compiles and links them without running them.

fn main() {
    match dynamo_runtime::endpoint_path("dynamo", "backend", "generate") {
        Ok(path) => println!("{path}"),
        Err(error) => eprintln!("{error}"),
    }
}
