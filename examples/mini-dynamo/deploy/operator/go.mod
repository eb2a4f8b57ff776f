module github.com/ai-dynamo/dynamo/deploy/operator

go 1.25.0

require (
	github.com/ai-dynamo/dynamo/deploy/snapshot v0.0.0
	github.com/google/uuid v1.6.0
)

// The snapshot module is a sibling directory, not a published module (upstream's shape).
replace github.com/ai-dynamo/dynamo/deploy/snapshot => ../snapshot
