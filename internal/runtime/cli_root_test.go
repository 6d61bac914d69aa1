package runtime_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"

	"github.com/pier-engine/pier/internal/testutil"
)

func TestSpecWritesALoadableDefault(t *testing.T) {
	r := newRT(t)
	dir := t.TempDir()
	r.ok("spec", "--bundle", dir)
	var s specs.Spec
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &s); err != nil || s.Process == nil || s.Root == nil || s.Root.Path != "rootfs" {
		t.Fatalf("spec wrote %s (%v)", b, err)
	}
	if _, stderr, code := r.run("spec", "--bundle", dir); code == 0 || !strings.Contains(stderr, "exists") {
		t.Errorf("spec over an existing config.json: exit %d %q", code, stderr)
	}
}

func TestFeaturesListsWhatIsSupported(t *testing.T) {
	r := newRT(t)
	var f features.Features
	if err := json.Unmarshal([]byte(r.ok("features")), &f); err != nil {
		t.Fatal(err)
	}
	if f.Linux == nil || len(f.Linux.Namespaces) != 8 || f.Linux.Seccomp == nil || !*f.Linux.Seccomp.Enabled {
		t.Errorf("features: %+v", f.Linux)
	}
	if !contains(f.Hooks, "createRuntime") || !contains(f.MountOptions, "rbind") {
		t.Errorf("features: hooks %v, mount options %v", f.Hooks, f.MountOptions)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestListShowsContainersAsTableAndJSON(t *testing.T) {
	r := newRT(t)
	b := testutil.Bundle(t, []string{"sleep", "1000"}, nil)
	id, pid := r.runDetached(b)
	var list []map[string]any
	if err := json.Unmarshal([]byte(r.ok("list", "--format", "json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0]["id"] != id || list[0]["status"] != "running" || int(list[0]["pid"].(float64)) != pid {
		t.Errorf("list --format json: %v", list)
	}
	if got := strings.TrimSpace(r.ok("list", "-q")); got != id {
		t.Errorf("list -q: %q", got)
	}
	if table := r.ok("list"); !strings.HasPrefix(table, "ID ") || !strings.Contains(table, id) {
		t.Errorf("list: %q", table)
	}
}

func TestExecWithProcessFile(t *testing.T) {
	r := newRT(t)
	b := testutil.Bundle(t, []string{"sleep", "1000"}, nil)
	id, _ := r.runDetached(b)
	proc := specs.Process{
		Args: []string{"/bin/sh", "-c", "echo $GREETING from $(pwd) as $(id -u)"},
		Env:  []string{"PATH=/bin", "GREETING=hello"},
		Cwd:  "/tmp",
		User: specs.User{UID: 65534, GID: 65534},
	}
	pf := filepath.Join(t.TempDir(), "process.json")
	data, _ := json.Marshal(proc)
	if err := os.WriteFile(pf, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(r.ok("exec", "-p", pf, id)); got != "hello from /tmp as 65534" {
		t.Errorf("exec -p: %q", got)
	}
}

func TestNoPivotRuns(t *testing.T) {
	r := newRT(t)
	b := testutil.Bundle(t, sh("cat /etc/passwd | head -1; ls /"), nil)
	out := r.ok("run", "--no-pivot", "--bundle", b, r.id())
	// The host's /work must not be visible: / is the busybox rootfs.
	if !strings.HasPrefix(out, "root:x:0:0") || !strings.Contains(out, "\nbin\n") || strings.Contains(out, "\nwork\n") {
		t.Errorf("run --no-pivot saw %q", out)
	}
}

func TestKillAllSignalsEveryProcess(t *testing.T) {
	r := newRT(t)
	// The shell is PID 1 and ignores TERM; its children do not.
	b := testutil.Bundle(t, sh("sleep 1000 & sleep 1000 & wait"), nil)
	id, _ := r.runDetached(b)
	waitFor(t, "three processes", func() bool {
		var pids []int
		_ = json.Unmarshal([]byte(r.ok("ps", "--format", "json", id)), &pids)
		return len(pids) == 3
	})
	r.ok("kill", "--all", id, "KILL")
	waitFor(t, "stopped", func() bool { return r.state(id).Status == "stopped" })
}

func TestErrorsReachTheJSONLog(t *testing.T) {
	r := newRT(t)
	logf := filepath.Join(t.TempDir(), "log.json")
	_, stderr, code := r.run("--log", logf, "--log-format", "json", "state", "nosuchcontainer")
	if code == 0 || !strings.Contains(stderr, "nosuchcontainer") {
		t.Fatalf("state of an unknown container: exit %d %q", code, stderr)
	}
	b, err := os.ReadFile(logf)
	if err != nil {
		t.Fatal(err)
	}
	var line map[string]string
	if err := json.Unmarshal(b, &line); err != nil || line["level"] != "error" || !strings.Contains(line["msg"], "nosuchcontainer") {
		t.Errorf("log file has %q (%v)", b, err)
	}
}

func TestSystemdCgroupIsRefusedClearly(t *testing.T) {
	r := newRT(t)
	_, stderr, code := r.run("--systemd-cgroup", "list")
	if code == 0 || !strings.Contains(stderr, "systemd cgroup driver is not supported") {
		t.Errorf("--systemd-cgroup: exit %d %q", code, stderr)
	}
}
