package daemon

import (
	"testing"
	"time"
)

// TestExecPrune: an exec goes execKeep after the inspect that saw it
// exited, or with its container; a running or uninspected one stays.
func TestExecPrune(t *testing.T) {
	now := time.Now()
	code := 0
	tbl := &execTable{m: map[string]*execRecord{
		"running":         {containerID: "c1", running: true},
		"exited-unseen":   {containerID: "c1", exitCode: &code},
		"inspected-now":   {containerID: "c1", exitCode: &code, inspected: now},
		"inspected-long":  {containerID: "c1", exitCode: &code, inspected: now.Add(-2 * execKeep)},
		"of-gone-ctr":     {containerID: "c2", running: true},
		"of-gone-ctr-too": {containerID: "c2"},
	}}
	asked := map[string]int{}
	tbl.prune(now, func(id string) bool { asked[id]++; return id == "c1" })
	want := []string{"running", "exited-unseen", "inspected-now"}
	if len(tbl.m) != len(want) {
		t.Errorf("kept %d records, want %v", len(tbl.m), want)
	}
	for _, id := range want {
		if tbl.m[id] == nil {
			t.Errorf("%s dropped", id)
		}
	}
	if asked["c2"] != 1 {
		t.Errorf("asked about c2 %d times, want once per prune", asked["c2"])
	}
}
