// trivy-db-fixture writes a Trivy vulnerability database (schema 2) holding one planted Debian
// advisory, so a scan gate can be proven to block without downloading the real database.
//
//	trivy-db-fixture -out DIR -debian 12 -package base-files -id CVE-2099-0001 -severity CRITICAL
//
// Trivy reads it with `--cache-dir DIR --skip-db-update` (DIR/db/trivy.db and DIR/db/metadata.json).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/aquasecurity/trivy-db/pkg/db"
	"github.com/aquasecurity/trivy-db/pkg/metadata"
	"github.com/aquasecurity/trivy-db/pkg/types"
	"github.com/aquasecurity/trivy-db/pkg/vulnsrc/bucket"
	"github.com/aquasecurity/trivy-db/pkg/vulnsrc/vulnerability"
	bolt "go.etcd.io/bbolt"
)

func main() {
	out := flag.String("out", "", "cache directory to write (db/ is created in it)")
	debian := flag.String("debian", "12", "Debian major version the advisory applies to")
	pkg := flag.String("package", "", "Debian source package the advisory names")
	id := flag.String("id", "CVE-2099-0001", "vulnerability ID")
	severity := flag.String("severity", "CRITICAL", "UNKNOWN, LOW, MEDIUM, HIGH or CRITICAL")
	fixed := flag.String("fixed", "99:0", "first fixed version (installed versions below it are affected)")
	updated := flag.String("updated", "2026-01-01T00:00:00Z", "UpdatedAt written to metadata.json (RFC 3339)")
	flag.Parse()
	if err := run(*out, *debian, *pkg, *id, *severity, *fixed, *updated); err != nil {
		fmt.Fprintln(os.Stderr, "trivy-db-fixture:", err)
		os.Exit(1)
	}
}

func run(out, debian, pkg, id, severity, fixed, updated string) error {
	if out == "" || pkg == "" {
		return fmt.Errorf("-out and -package are required")
	}
	sev, err := types.NewSeverity(severity)
	if err != nil {
		return err
	}
	updatedAt, err := time.Parse(time.RFC3339, updated)
	if err != nil {
		return err
	}
	dbDir := filepath.Join(out, "db")
	if err := db.Init(dbDir); err != nil {
		return err
	}
	platform := bucket.NewDebian(debian).Name()
	dbc := db.Config{}
	err = dbc.BatchUpdate(func(tx *bolt.Tx) error {
		if err := dbc.PutAdvisory(tx, []string{platform, pkg}, id, types.Advisory{FixedVersion: fixed}); err != nil {
			return err
		}
		vuln := types.Vulnerability{
			Title:          "planted advisory (dynamo-pipeline test fixture)",
			Description:    fmt.Sprintf("%s in %s is affected below %s", id, pkg, fixed),
			Severity:       sev.String(),
			VendorSeverity: types.VendorSeverity{vulnerability.Debian: sev},
		}
		if err := dbc.PutVulnerability(tx, id, vuln); err != nil {
			return err
		}
		return dbc.PutDataSource(tx, platform, types.DataSource{
			ID: vulnerability.Debian, Name: "Debian Security Tracker", URL: "https://salsa.debian.org/security-tracker-team/security-tracker",
		})
	})
	if err != nil {
		return err
	}
	if err := db.Close(); err != nil {
		return err
	}
	return metadata.NewClient(dbDir).Update(metadata.Metadata{
		Version:    db.SchemaVersion,
		NextUpdate: updatedAt.Add(24 * time.Hour),
		UpdatedAt:  updatedAt,
	})
}
