// Package naming derives Kubernetes resource names for the components of a graph deployment.
package naming

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/google/uuid"
)

// maxNameLength is the DNS-1123 label limit that Service and Deployment names must fit.
const maxNameLength = 63

var invalidChars = regexp.MustCompile(`[^a-z0-9-]+`)

// ComponentResourceName returns "<graph>-<component>" as a DNS-1123 label. Names that would exceed
// 63 characters are truncated and suffixed with a stable hash so distinct components cannot collide.
func ComponentResourceName(graph, component string) (string, error) {
	name := strings.Trim(invalidChars.ReplaceAllString(strings.ToLower(graph+"-"+component), "-"), "-")
	if name == "" {
		return "", fmt.Errorf("graph %q and component %q give an empty resource name", graph, component)
	}
	if len(name) <= maxNameLength {
		return name, nil
	}
	// Name-based UUID: the same inputs always give the same suffix.
	suffix := uuid.NewSHA1(uuid.NameSpaceOID, []byte(graph+"/"+component)).String()[:8]
	prefix := strings.TrimRight(name[:maxNameLength-len(suffix)-1], "-")
	return prefix + "-" + suffix, nil
}
