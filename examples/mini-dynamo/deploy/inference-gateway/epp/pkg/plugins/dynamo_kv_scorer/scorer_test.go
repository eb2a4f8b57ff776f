package dynamo_kv_scorer

import "testing"

func TestLibraryVersionIsTheWorkspaceVersion(t *testing.T) {
	if got := LibraryVersion(); got != "1.1.0" {
		t.Fatalf("LibraryVersion() = %q", got)
	}
}

func TestScorePrefersThePodWithTheLongestCachedPrefix(t *testing.T) {
	scores := Score([]uint64{11, 12, 13}, map[string][]uint64{
		"warm":  {11, 12, 99},
		"cold":  {42},
		"empty": nil,
	})
	want := map[string]uint32{"warm": 2, "cold": 0, "empty": 0}
	for pod, score := range want {
		if scores[pod] != score {
			t.Errorf("score[%s] = %d, want %d", pod, scores[pod], score)
		}
	}
}

func TestCountTokens(t *testing.T) {
	if got := CountTokens("route this  request"); got != 3 {
		t.Fatalf("CountTokens = %d", got)
	}
}
