// Package version holds build metadata stamped with
// -ldflags "-X github.com/ai-dynamo/dynamo/deploy/inference-gateway/epp/version.GitVersion=... -X ...GitCommit=...".
package version

var (
	// GitVersion is the release or git-describe version of the build.
	GitVersion = "dev"
	// GitCommit is the commit the binary was built from.
	GitCommit = "unknown"
)
