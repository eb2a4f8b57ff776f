// A Trivy database with one planted advisory, for the scan tests (tests/engine/test_scan.py).
// trivy-db is pinned at the version tools/trivy/go.mod's Trivy requires (checked by a unit test).
module dynamo-pipeline/tools/trivy-db

go 1.24.0

require (
	github.com/aquasecurity/trivy-db v0.0.0-20251222105351-a833f47f8f0d
	go.etcd.io/bbolt v1.4.3
)

require (
	github.com/davecgh/go-spew v1.1.1 // indirect
	github.com/oklog/ulid/v2 v2.1.1 // indirect
	github.com/pmezard/go-difflib v1.0.0 // indirect
	github.com/samber/lo v1.50.0 // indirect
	github.com/samber/oops v1.18.1 // indirect
	github.com/stretchr/objx v0.5.2 // indirect
	github.com/stretchr/testify v1.11.1 // indirect
	go.opentelemetry.io/otel v1.34.0 // indirect
	go.opentelemetry.io/otel/trace v1.34.0 // indirect
	golang.org/x/sys v0.36.0 // indirect
	golang.org/x/text v0.29.0 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)
