package e2e_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pier-engine/pier/internal/testutil"
)

// TestStatsAndUpdate: docker update sets a running container's memory
// limit in its cgroup, and docker and pier stats show it.
func TestStatsAndUpdate(t *testing.T) {
	d := newPierd(t, "busybox", "overlay")
	pier := testutil.Binary(t, "pier")
	dk := func(args ...string) (int, string, string) {
		return run(t, dockers[0], append([]string{"--host", d.host}, args...)...)
	}
	code, out, errs := dk("run", "-d", "--name", "st", "busybox", "sleep", "1000")
	id := strings.TrimSpace(out)
	if code != 0 || len(id) != 64 {
		t.Fatalf("run -d = %d %q %q", code, out, errs)
	}
	t.Cleanup(func() { dk("rm", "-f", id) })

	if code, out, errs := dk("update", "-m", "64m", "--memory-swap", "64m", "st"); code != 0 || strings.TrimSpace(out) != "st" {
		t.Fatalf("update = %d %q %q", code, out, errs)
	}
	_, pid, _ := dk("inspect", "-f", "{{.State.Pid}}", "st")
	if got := memoryLimit(t, strings.TrimSpace(pid)); got != "67108864" {
		t.Errorf("cgroup memory limit after update = %q, want 67108864", got)
	}
	if _, out, _ := dk("inspect", "-f", "{{.HostConfig.Memory}}", "st"); strings.TrimSpace(out) != "67108864" {
		t.Errorf("HostConfig.Memory after update = %q", out)
	}
	// The container is on the default bridge: its eth0 counts a ping of
	// the gateway, and stats shows it (about 1 kB each way).
	_, gw, _ := dk("inspect", "-f", "{{.NetworkSettings.Networks.bridge.Gateway}}", "st")
	if code, _, errs := dk("exec", "st", "ping", "-c1", "-W2", "-s", "1000", strings.TrimSpace(gw)); code != 0 {
		t.Fatalf("ping of the gateway %q = %d %q", gw, code, errs)
	}
	if _, out, _ := dk("stats", "--no-stream", "--format", "{{.NetIO}}", "st"); !regexp.MustCompile(`^[12]\.\d+kB / [12]\.\d+kB$`).MatchString(strings.TrimSpace(out)) {
		t.Errorf("docker stats NetIO after a 1000-byte ping = %q, want about 1kB each way", out)
	}
	for _, cli := range []string{dockers[0], pier} {
		flag := "--host"
		if cli == pier {
			flag = "-H"
		}
		code, out, errs := run(t, cli, flag, d.host, "stats", "--no-stream", "st")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if code != 0 || len(lines) != 2 || !strings.HasPrefix(lines[1], id[:12]) || !strings.Contains(lines[1], "/ 64MiB") {
			t.Errorf("%s stats --no-stream = %d %q %q; want %s with a 64MiB limit", filepath.Base(cli), code, out, errs, id[:12])
		}
	}
}

// memoryLimit reads the memory limit of pid's cgroup, v1 or v2.
func memoryLimit(t *testing.T, pid string) string {
	b, err := os.ReadFile("/proc/" + pid + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		parts := strings.SplitN(l, ":", 3)
		if len(parts) != 3 {
			continue
		}
		var f string
		switch {
		case strings.Contains(","+parts[1]+",", ",memory,"):
			f = filepath.Join("/sys/fs/cgroup/memory", parts[2], "memory.limit_in_bytes")
		case parts[0] == "0" && parts[1] == "" && !strings.Contains(string(b), "memory"):
			f = filepath.Join("/sys/fs/cgroup", parts[2], "memory.max")
		default:
			continue
		}
		v, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(v))
	}
	t.Fatalf("no memory cgroup for %s:\n%s", pid, b)
	return ""
}
