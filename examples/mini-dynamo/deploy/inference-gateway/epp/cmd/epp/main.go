// Command epp is a stand-in for Dynamo's Gateway API Inference Extension endpoint picker.
package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/ai-dynamo/dynamo/deploy/inference-gateway/epp/pkg/plugins/dynamo_kv_scorer"
	"github.com/ai-dynamo/dynamo/deploy/inference-gateway/epp/version"
)

func main() {
	request := flag.String("request-blocks", "1,2,3", "comma-separated KV block hashes of a request")
	showVersion := flag.Bool("version", false, "print the version, commit and linked C API version, then exit")
	flag.Parse()

	if *showVersion {
		fmt.Printf("dynamo-epp %s (commit %s) capi %s\n",
			version.GitVersion, version.GitCommit, dynamo_kv_scorer.LibraryVersion())
		return
	}

	// Tells replicas apart in logs when several EPPs serve one pool.
	instance := uuid.NewString()
	fmt.Printf("dynamo-epp %s (commit %s) capi %s instance %s\n",
		version.GitVersion, version.GitCommit, dynamo_kv_scorer.LibraryVersion(), instance)

	blocks, err := parseBlocks(*request)
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	pods := map[string][]uint64{"pod-a": {1, 2}, "pod-b": {1, 2, 3}}
	fmt.Println("scores:", dynamo_kv_scorer.Score(blocks, pods))
}

func parseBlocks(list string) ([]uint64, error) {
	var blocks []uint64
	for _, field := range strings.Split(list, ",") {
		block, err := strconv.ParseUint(strings.TrimSpace(field), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("block hash %q: %w", field, err)
		}
		blocks = append(blocks, block)
	}
	return blocks, nil
}
