module github.com/ai-dynamo/dynamo/deploy/snapshot

go 1.25.0
