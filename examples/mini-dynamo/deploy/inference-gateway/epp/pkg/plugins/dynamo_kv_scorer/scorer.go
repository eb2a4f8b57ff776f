// Package dynamo_kv_scorer scores inference pods by KV-cache reuse, using Dynamo's Rust C API.
//
// lib/libdynamo_llm_capi.a and include/llm_engine.h are build inputs produced by
// `cargo build --release -p libdynamo_llm` at the Dynamo workspace root; they are not checked in.
package dynamo_kv_scorer

/*
#cgo CFLAGS: -I${SRCDIR}/include
#cgo LDFLAGS: ${SRCDIR}/lib/libdynamo_llm_capi.a -ldl -lm -lpthread
#include <stdlib.h>
#include "llm_engine.h"
*/
import "C"

import "unsafe"

// LibraryVersion is the version of the linked Rust library.
func LibraryVersion() string {
	return C.GoString(C.dynamo_llm_version())
}

// CountTokens counts whitespace-separated tokens; -1 for invalid UTF-8.
func CountTokens(text string) int64 {
	cText := C.CString(text)
	defer C.free(unsafe.Pointer(cText))
	return int64(C.dynamo_count_tokens(cText))
}

// Score returns, for each pod, how many leading KV blocks of the request that pod already caches.
func Score(requestBlocks []uint64, podBlocks map[string][]uint64) map[string]uint32 {
	scores := make(map[string]uint32, len(podBlocks))
	for pod, cached := range podBlocks {
		scores[pod] = uint32(C.dynamo_kv_score(firstElement(requestBlocks), C.size_t(len(requestBlocks)),
			firstElement(cached), C.size_t(len(cached))))
	}
	return scores
}

// firstElement gives C a pointer to the slice's data, or NULL for an empty slice.
func firstElement(blocks []uint64) *C.uint64_t {
	if len(blocks) == 0 {
		return nil
	}
	return (*C.uint64_t)(unsafe.Pointer(&blocks[0]))
}
