package runtime_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// assertGone fails t if anything of container id is left: an entry in
// `list`, a state directory, or a cgroup in any hierarchy. (Processes and
// mounts are the leak check's.)
func assertGone(t *testing.T, r *rt, id string) {
	t.Helper()
	if out := r.ok("list", "-q"); strings.Contains(out, id) {
		t.Errorf("list still shows %s: %q", id, out)
	}
	if _, err := os.Stat(filepath.Join(r.root, id)); err == nil {
		t.Errorf("state directory of %s left behind", id)
	}
	cgs, _ := filepath.Glob("/sys/fs/cgroup/*/pier/" + id)
	if cg, _ := filepath.Glob("/sys/fs/cgroup/pier/" + id); cg != nil {
		cgs = append(cgs, cg...)
	}
	if len(cgs) > 0 {
		t.Errorf("cgroups of %s left behind: %v", id, cgs)
	}
}
