//! `dynamo._core`: Python bindings over dynamo-llm.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// Count whitespace-separated tokens.
#[pyfunction]
fn count_tokens(text: &str) -> usize {
    dynamo_llm::count_tokens(text)
}

/// Render (role, content) pairs into a ChatML prompt ending with an open assistant turn.
#[pyfunction]
fn render_chat_prompt(messages: Vec<(String, String)>) -> String {
    let borrowed: Vec<(&str, &str)> = messages
        .iter()
        .map(|(role, content)| (role.as_str(), content.as_str()))
        .collect();
    dynamo_llm::render_chat_prompt(&borrowed)
}

/// `dyn://namespace.component.endpoint`; ValueError for names with characters other than [A-Za-z0-9_-].
#[pyfunction]
fn endpoint_path(namespace: &str, component: &str, endpoint: &str) -> PyResult<String> {
    dynamo_llm::endpoint_path(namespace, component, endpoint).map_err(PyValueError::new_err)
}

/// The Cargo features this extension was built with (the wheel builder picks them per framework).
#[pyfunction]
fn built_features() -> Vec<&'static str> {
    let mut features = Vec::new();
    if cfg!(feature = "kv-indexer") {
        features.push("kv-indexer");
    }
    if cfg!(feature = "media-ffmpeg") {
        features.push("media-ffmpeg");
    }
    features
}

/// FFmpeg's libavutil version the extension loaded (built with media-ffmpeg only).
#[cfg(feature = "media-ffmpeg")]
#[pyfunction]
fn ffmpeg_version() -> String {
    dynamo_llm::ffmpeg_avutil_version()
}

#[pymodule]
fn _core(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add("__version__", dynamo_llm::VERSION)?;
    module.add_function(wrap_pyfunction!(count_tokens, module)?)?;
    module.add_function(wrap_pyfunction!(render_chat_prompt, module)?)?;
    module.add_function(wrap_pyfunction!(endpoint_path, module)?)?;
    module.add_function(wrap_pyfunction!(built_features, module)?)?;
    #[cfg(feature = "media-ffmpeg")]
    module.add_function(wrap_pyfunction!(ffmpeg_version, module)?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn functions_forward_to_dynamo_llm() {
        assert_eq!(count_tokens("one two"), 2);
        assert!(
            render_chat_prompt(vec![("user".into(), "hi".into())])
                .ends_with("<|im_start|>assistant\n")
        );
        assert_eq!(
            endpoint_path("ns", "comp", "ep").unwrap(),
            "dyn://ns.comp.ep"
        );
    }
}
