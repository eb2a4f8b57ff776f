//! `dynamo-run`: prints what this build would serve, and the token count of any prompt given as arguments.

/// Accelerator chosen at compile time; `cuda` wins when both device features are on.
fn device() -> &'static str {
    if cfg!(feature = "cuda") {
        "cuda"
    } else if cfg!(feature = "metal") {
        "metal"
    } else {
        "cpu"
    }
}

fn banner() -> String {
    format!(
        "dynamo-run {} device={} tokio-console={}",
        dynamo_llm::VERSION,
        device(),
        dynamo_runtime::TOKIO_CONSOLE_ENABLED
    )
}

fn main() {
    println!("{}", banner());
    let prompt = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
    if !prompt.is_empty() {
        let endpoint = dynamo_llm::endpoint_path("dynamo", "backend", "generate")
            .expect("static names are valid");
        println!("{endpoint}: {} tokens", dynamo_llm::count_tokens(&prompt));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn banner_reports_workspace_version_and_features() {
        let expected_device = if cfg!(feature = "cuda") {
            "cuda"
        } else if cfg!(feature = "metal") {
            "metal"
        } else {
            "cpu"
        };
        assert_eq!(
            banner(),
            format!(
                "dynamo-run 1.1.0 device={expected_device} tokio-console={}",
                cfg!(feature = "tokio-console")
            )
        );
    }
}
