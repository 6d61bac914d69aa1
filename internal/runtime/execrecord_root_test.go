package runtime_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// exec reads the container's exec record, at the start of its state, not
// the whole state, and the program it starts sees exactly what it sees
// through the whole state: that of a container made by an older binary (no
// exec record), and that of an exec that needs the Go init (which is sent
// the whole spec).
func TestExecTakesTheExecRecord(t *testing.T) {
	r := newRT(t)
	id := r.id()
	r.ok("run", "-d", "--bundle", cinitBundle(t, "exec sleep 1000"), id)
	dir := filepath.Join(r.root, id)
	if _, err := os.Stat(filepath.Join(dir, "seccomp.bpf")); err != nil {
		t.Fatalf("create left no seccomp.bpf: %v", err)
	}
	state, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil || !strings.HasPrefix(string(state), `{"exec":"`) {
		t.Fatalf("the state does not start with an exec record (%v): %.60q", err, state)
	}
	exec := func(env []string) (string, string) {
		t.Helper()
		out, trace, code := r.runTraced(env, "exec", id, "sh", "-c", cinitScript)
		if code != 0 || !strings.Contains(out, "uid=1000") {
			t.Fatalf("exec: exit %d: %s", code, out)
		}
		return out, trace
	}
	fast, trace := exec(nil)
	if !strings.Contains(trace, "runtime exec: exec record read") || strings.Contains(trace, "exec: state read") {
		t.Errorf("exec did not take the exec record:\n%s", trace)
	}
	if !strings.Contains(trace, "cinit seccomp") || !strings.Contains(fast, "mkdir refused") {
		t.Errorf("exec through the exec record lost the seccomp filter:\n%s\n%s", fast, trace)
	}

	out, trace := exec([]string{"PIER_GO_INIT=1"})
	if !strings.Contains(trace, "runtime exec: state read") || !strings.Contains(trace, "init cloned, into Go") {
		t.Errorf("an exec on the Go init did not read the whole state:\n%s", trace)
	}
	if out != fast {
		t.Errorf("the Go init's exec differs:\n%s\nthrough the exec record:\n%s", out, fast)
	}

	// A container made by an older binary: the same state, no record.
	var m map[string]any
	if err := json.Unmarshal(state, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "exec")
	if state, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "state.json"), state, 0o600); err != nil {
		t.Fatal(err)
	}
	out, trace = exec(nil)
	if !strings.Contains(trace, "runtime exec: state read (no exec record)") || strings.Contains(trace, "exec record read") {
		t.Errorf("without an exec record, exec did not read the state:\n%s", trace)
	}
	if out != fast {
		t.Errorf("the exec through the whole state differs:\n%s\nthrough the exec record:\n%s", out, fast)
	}
}
