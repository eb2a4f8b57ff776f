//! C ABI for the EPP's KV scorer. The hand-written `include/llm_engine.h` must match these signatures.

use std::ffi::{CStr, c_char};

/// NUL-terminated copy of the crate version, so C callers get a `'static` pointer.
static VERSION_CSTR: &CStr =
    match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
        Ok(version) => version,
        Err(_) => panic!("version contains a NUL byte"),
    };

/// Version of the library; the pointer is static and must not be freed.
#[unsafe(no_mangle)]
pub extern "C" fn dynamo_llm_version() -> *const c_char {
    VERSION_CSTR.as_ptr()
}

/// Leading KV blocks of the request already cached on a worker. Null pointers count as empty arrays.
///
/// # Safety
/// Non-null pointers must point to at least `*_len` readable `u64` values.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dynamo_kv_score(
    request_blocks: *const u64,
    request_len: usize,
    cached_blocks: *const u64,
    cached_len: usize,
) -> u32 {
    // SAFETY: the caller guarantees the lengths; null is mapped to an empty slice.
    let (request, cached) = unsafe {
        (
            slice_or_empty(request_blocks, request_len),
            slice_or_empty(cached_blocks, cached_len),
        )
    };
    u32::try_from(dynamo_llm::kv_prefix_overlap(request, cached)).unwrap_or(u32::MAX)
}

/// Whitespace token count of a NUL-terminated UTF-8 string; returns -1 for null or invalid UTF-8.
///
/// # Safety
/// A non-null `text` must point to a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dynamo_count_tokens(text: *const c_char) -> i64 {
    if text.is_null() {
        return -1;
    }
    // SAFETY: non-null and NUL-terminated per the contract above.
    match unsafe { CStr::from_ptr(text) }.to_str() {
        Ok(text) => i64::try_from(dynamo_llm::count_tokens(text)).unwrap_or(i64::MAX),
        Err(_) => -1,
    }
}

unsafe fn slice_or_empty<'a>(ptr: *const u64, len: usize) -> &'a [u64] {
    if ptr.is_null() || len == 0 {
        &[]
    } else {
        // SAFETY: forwarded from the public functions' contracts.
        unsafe { std::slice::from_raw_parts(ptr, len) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_is_the_workspace_version() {
        let version = unsafe { CStr::from_ptr(dynamo_llm_version()) };
        assert_eq!(version.to_str().unwrap(), "1.1.0");
    }

    #[test]
    fn kv_score_counts_shared_prefix_and_tolerates_null() {
        let request = [7u64, 8, 9];
        let cached = [7u64, 8, 1];
        assert_eq!(
            unsafe { dynamo_kv_score(request.as_ptr(), 3, cached.as_ptr(), 3) },
            2
        );
        assert_eq!(
            unsafe { dynamo_kv_score(std::ptr::null(), 0, cached.as_ptr(), 3) },
            0
        );
    }

    #[test]
    fn count_tokens_rejects_null() {
        assert_eq!(unsafe { dynamo_count_tokens(c"a b c".as_ptr()) }, 3);
        assert_eq!(unsafe { dynamo_count_tokens(std::ptr::null()) }, -1);
    }
}
