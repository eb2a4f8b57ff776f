//! Stand-in for Dynamo's distributed runtime: how components and endpoints are addressed.

/// Whether this build was compiled with the `tokio-console` feature.
pub const TOKIO_CONSOLE_ENABLED: bool = cfg!(feature = "tokio-console");

/// Whether `.cargo/config.toml`'s `--cfg tokio_unstable` reached the compiler.
pub const TOKIO_UNSTABLE_CFG: bool = cfg!(tokio_unstable);

/// Address of an endpoint served by a component in a namespace: `dyn://namespace.component.endpoint`.
pub fn endpoint_path(namespace: &str, component: &str, endpoint: &str) -> Result<String, String> {
    for (what, name) in [
        ("namespace", namespace),
        ("component", component),
        ("endpoint", endpoint),
    ] {
        let valid = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid {
            return Err(format!("invalid {what} name: {name:?}"));
        }
    }
    Ok(format!("dyn://{namespace}.{component}.{endpoint}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_path_joins_valid_names() {
        assert_eq!(
            endpoint_path("dynamo", "backend", "generate").unwrap(),
            "dyn://dynamo.backend.generate"
        );
    }

    #[test]
    fn endpoint_path_rejects_dots_and_empty_names() {
        assert!(endpoint_path("dyn.amo", "backend", "generate").is_err());
        assert!(endpoint_path("dynamo", "", "generate").is_err());
    }

    #[test]
    fn rustflags_from_cargo_config_are_applied() {
        const { assert!(TOKIO_UNSTABLE_CFG) };
    }
}
