// Command manager is a stand-in for the Dynamo Kubernetes operator's manager binary.
package main

import (
	"flag"
	"fmt"

	"github.com/ai-dynamo/dynamo/deploy/operator/internal/naming"
	"github.com/ai-dynamo/dynamo/deploy/snapshot/protocol"
)

// Stamped at build time: go build -ldflags "-X main.version=1.1.0 -X main.commit=<sha>".
var (
	version = "dev"
	commit  = "unknown"
)

func main() {
	graph := flag.String("graph", "example", "DynamoGraphDeployment name")
	component := flag.String("component", "Frontend", "component whose child resource name to print")
	showVersion := flag.Bool("version", false, "print the version and commit, then exit")
	flag.Parse()

	fmt.Printf("dynamo-operator manager %s (commit %s)\n", version, commit)
	if *showVersion {
		return
	}
	name, err := naming.ComponentResourceName(*graph, *component)
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	fmt.Printf("%s/%s -> %s (checkpoint %s)\n", *graph, *component, name, protocol.CheckpointName(*graph, *component))
}
