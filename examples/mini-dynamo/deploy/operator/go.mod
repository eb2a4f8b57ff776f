module github.com/ai-dynamo/dynamo/deploy/operator

go 1.25.0

require github.com/google/uuid v1.6.0
