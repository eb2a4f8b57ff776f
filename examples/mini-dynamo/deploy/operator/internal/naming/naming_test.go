package naming

import (
	"strings"
	"testing"
)

func TestShortNamesAreLoweredAndSanitised(t *testing.T) {
	got, err := ComponentResourceName("My_Graph", "VllmWorker")
	if err != nil {
		t.Fatal(err)
	}
	if got != "my-graph-vllmworker" {
		t.Fatalf("got %q", got)
	}
}

func TestLongNamesAreTruncatedWithStableDistinctSuffix(t *testing.T) {
	graph := strings.Repeat("g", 60)
	first, _ := ComponentResourceName(graph, "prefill-worker")
	again, _ := ComponentResourceName(graph, "prefill-worker")
	other, _ := ComponentResourceName(graph, "decode-worker")
	if len(first) > maxNameLength {
		t.Fatalf("%q is %d characters", first, len(first))
	}
	if first != again {
		t.Fatalf("not stable: %q vs %q", first, again)
	}
	if first == other {
		t.Fatalf("distinct components collide: %q", first)
	}
}

func TestEmptyNameIsAnError(t *testing.T) {
	if _, err := ComponentResourceName("__", "!!"); err == nil {
		t.Fatal("expected an error")
	}
}
