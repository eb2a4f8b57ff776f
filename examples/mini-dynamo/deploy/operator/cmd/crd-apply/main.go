// Command crd-apply is a stand-in for the operator's CRD installer that ships beside the manager.
package main

import (
	"flag"
	"fmt"
)

func main() {
	dir := flag.String("crds", "/opt/dynamo-operator/crds", "directory of CRD manifests to apply")
	flag.Parse()
	fmt.Printf("crd-apply: would apply the CRDs in %s\n", *dir)
}
