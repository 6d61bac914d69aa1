package runtime_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/pier-engine/pier/internal/testutil"
)

// Concurrent pier-runtime commands on one container take turns (the state
// directory's lock): each update sets the cgroup and saves the record as
// one step, so the last one saved is the limit the cgroup has, and the
// state file is whole.
func TestConcurrentCommandsTakeTurns(t *testing.T) {
	r := newRT(t)
	requiresLimits(t)
	b := testutil.Bundle(t, []string{"sleep", "1000"}, nil)
	id, _ := r.runDetached(b)
	const n = 12
	var wg sync.WaitGroup
	errs := make(chan string, 2*n)
	for i := range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if _, stderr, code := r.run("update", "--pids-limit", strconv.Itoa(100+i), id); code != 0 {
				errs <- "update: " + stderr
			}
		}()
		go func() {
			defer wg.Done()
			if _, stderr, code := r.run("kill", id, "CONT"); code != 0 {
				errs <- "kill CONT: " + stderr
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	b2, err := os.ReadFile(filepath.Join(r.root, id, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Spec *specs.Spec `json:"spec"`
	}
	if err := json.Unmarshal(b2, &rec); err != nil {
		t.Fatalf("state file after concurrent updates: %v", err)
	}
	res := rec.Spec.Linux.Resources
	if res == nil || res.Pids == nil || res.Pids.Limit == nil {
		t.Fatalf("recorded resources %+v: no pids limit", res)
	}
	if got, want := readTrim(t, cgFile(id, "pids", "pids.max")), strconv.FormatInt(*res.Pids.Limit, 10); got != want {
		t.Errorf("pids.max %s, but the record says %s: an update's set and save were split", got, want)
	}
	if s := r.state(id); s.Status != "running" {
		t.Errorf("status after concurrent commands: %s", s.Status)
	}
}
