package e2e_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStartGateNetworkFailure: a start whose network wiring fails while
// the monitor creates the container (its fixed address is taken, found
// only at start, as dockerd finds it) fails promptly with the network's
// error, not the start gate's, runs nothing, and leaves no namespace or
// exec-root directory behind; the container can be started once the
// address is free, and its command then sees its interface up.
func TestStartGateNetworkFailure(t *testing.T) {
	d := newPierd(t, "busybox", "overlay")
	dk := dockerOn(t, d)
	dk("network", "create", "--subnet", "10.237.41.0/24", "gatenet")
	t.Cleanup(func() { run(t, dockers[0], "--host", d.host, "network", "rm", "gatenet") })
	dk("run", "-d", "--name", "holder", "--network", "gatenet", "--ip", "10.237.41.10", "busybox", "sleep", "1000")
	t.Cleanup(func() { run(t, dockers[0], "--host", d.host, "rm", "-f", "holder") })
	id := dk("create", "--name", "second", "--network", "gatenet", "--ip", "10.237.41.10", "busybox",
		"sh", "-c", "echo ran; ip addr show eth0 | grep -q 'inet 10.237.41.10/' && echo wired")
	t.Cleanup(func() { run(t, dockers[0], "--host", d.host, "rm", "-f", "second") })

	t0 := time.Now()
	code, out, errs := run(t, dockers[0], "--host", d.host, "start", "second")
	if code == 0 || !strings.Contains(errs, "Address already in use") || strings.Contains(errs, "start gate") {
		t.Errorf("start with a taken address = %d %q %q; want the network's error", code, out, errs)
	}
	if el := time.Since(t0); el > bound(10*time.Second) {
		t.Errorf("the failed start took %v", el)
	}
	if got := dk("inspect", "-f", "{{.State.Running}}", "second"); got != "false" {
		t.Errorf("after the failed start, running = %s", got)
	}
	if logs := dk("logs", "second"); logs != "" {
		t.Errorf("the command ran although its network failed: logs %q", logs)
	}
	if _, err := os.Lstat(filepath.Join(d.root, "netns", id)); !os.IsNotExist(err) {
		t.Errorf("the failed start left its namespace: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(d.dir, "exec", "containers", id, "start.gate")); !os.IsNotExist(err) {
		t.Errorf("the failed start left its start gate: %v", err)
	}

	dk("rm", "-f", "holder")
	dk("start", "second")
	if code := dk("wait", "second"); code != "0" {
		t.Errorf("second's exit code = %s", code)
	}
	if logs := dk("logs", "second"); logs != "ran\nwired" {
		t.Errorf("second's command did not find eth0 addressed: logs %q", logs)
	}
}
