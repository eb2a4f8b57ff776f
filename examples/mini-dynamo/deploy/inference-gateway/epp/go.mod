module github.com/ai-dynamo/dynamo/deploy/inference-gateway/epp

go 1.24.0

require github.com/google/uuid v1.6.0
