/* C API of libdynamo_llm_capi.a (crate libdynamo_llm). Hand-written; keep in sync with src/lib.rs. */
#ifndef DYNAMO_LLM_ENGINE_H
#define DYNAMO_LLM_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Library version, e.g. "1.1.0". Static storage: do not free. */
const char *dynamo_llm_version(void);

/* Number of leading KV blocks of the request already cached on a worker. NULL arrays count as empty. */
uint32_t dynamo_kv_score(const uint64_t *request_blocks, size_t request_len,
                         const uint64_t *cached_blocks, size_t cached_len);

/* Whitespace token count of a NUL-terminated UTF-8 string; -1 for NULL or invalid UTF-8. */
int64_t dynamo_count_tokens(const char *text);

#ifdef __cplusplus
}
#endif

#endif /* DYNAMO_LLM_ENGINE_H */
