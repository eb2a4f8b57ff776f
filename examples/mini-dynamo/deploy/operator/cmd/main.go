// Command manager is a stand-in for the Dynamo Kubernetes operator's manager binary.
package main

import (
	"flag"
	"fmt"

	"github.com/ai-dynamo/dynamo/deploy/operator/internal/naming"
)

// version is stamped at build time: go build -ldflags "-X main.version=1.1.0".
var version = "dev"

func main() {
	graph := flag.String("graph", "example", "DynamoGraphDeployment name")
	component := flag.String("component", "Frontend", "component whose child resource name to print")
	flag.Parse()

	fmt.Printf("dynamo-operator manager %s\n", version)
	name, err := naming.ComponentResourceName(*graph, *component)
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	fmt.Printf("%s/%s -> %s\n", *graph, *component, name)
}
