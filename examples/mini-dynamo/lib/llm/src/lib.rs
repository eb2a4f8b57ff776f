//! Stand-in for Dynamo's LLM crate: small, real functions the bindings expose.

pub use dynamo_runtime::endpoint_path;

/// Version of this crate (the workspace version).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// FFmpeg's libavutil version ("major.minor.micro"), read from the library linked at run time.
#[cfg(feature = "media-ffmpeg")]
pub fn ffmpeg_avutil_version() -> String {
    unsafe extern "C" {
        fn avutil_version() -> u32;
    }
    // SAFETY: avutil_version takes no arguments and returns a constant.
    let version = unsafe { avutil_version() };
    format!(
        "{}.{}.{}",
        version >> 16,
        (version >> 8) & 0xff,
        version & 0xff
    )
}

/// Whitespace token count: a cheap approximation used for request sizing.
pub fn count_tokens(text: &str) -> usize {
    text.split_whitespace().count()
}

/// Render chat messages (role, content) into a ChatML-style prompt that ends with an open assistant turn.
pub fn render_chat_prompt(messages: &[(&str, &str)]) -> String {
    let mut prompt = String::new();
    for (role, content) in messages {
        prompt.push_str(&format!("<|im_start|>{role}\n{content}<|im_end|>\n"));
    }
    prompt.push_str("<|im_start|>assistant\n");
    prompt
}

/// Number of leading KV blocks of a request already cached on a worker (longest common prefix of block hashes).
pub fn kv_prefix_overlap(request_blocks: &[u64], cached_blocks: &[u64]) -> usize {
    request_blocks
        .iter()
        .zip(cached_blocks)
        .take_while(|(request, cached)| request == cached)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_tokens_splits_on_any_whitespace() {
        assert_eq!(count_tokens("  hello \n big\tworld "), 3);
        assert_eq!(count_tokens(""), 0);
    }

    #[test]
    fn chat_prompt_ends_with_assistant_turn() {
        let prompt = render_chat_prompt(&[("system", "be brief"), ("user", "hi")]);
        assert_eq!(
            prompt,
            "<|im_start|>system\nbe brief<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
        );
    }

    #[test]
    fn kv_prefix_overlap_stops_at_first_mismatch() {
        assert_eq!(kv_prefix_overlap(&[1, 2, 3, 4], &[1, 2, 9, 4]), 2);
        assert_eq!(kv_prefix_overlap(&[1, 2], &[1, 2, 3]), 2);
        assert_eq!(kv_prefix_overlap(&[5], &[]), 0);
    }
}
