package e2e_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildkitChildren are the pier-buildkitd processes serving root.
func buildkitChildren(root string) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		args := strings.Split(string(b), "\x00")
		if filepath.Base(args[0]) == "pier-buildkitd" && strings.Contains(string(b), "\x00"+filepath.Join(root, "buildkit")+"\x00") {
			pids = append(pids, pid)
		}
	}
	return pids
}

// TestBuildKitProcess: BuildKit runs in pier-buildkitd, started on the
// first build and not before; a killed child is reported and the next
// build starts a new one over the same cache; a kill -9 of pierd leaves
// no child behind, and the cache survives into the next pierd.
func TestBuildKitProcess(t *testing.T) {
	r := newBuildRig(t)
	if pids := buildkitChildren(r.d.root); len(pids) != 0 {
		t.Fatalf("pier-buildkitd %v runs before any build", pids)
	}
	r.mustDocker(nil, "info")
	if pids := buildkitChildren(r.d.root); len(pids) != 0 {
		t.Fatalf("pier-buildkitd %v started by docker info", pids)
	}
	ctx := writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nRUN echo one > /one\n"})
	if n := ranSteps(r.mustBuildx("buildx", "build", "--progress=plain", "-t", "bkproc", "--load", ctx)); n != 1 {
		t.Fatalf("first build ran %d RUN steps, want 1", n)
	}
	if out := r.mustDocker(nil, "images", "--format", "{{.Repository}}"); !strings.Contains(out, "bkproc") {
		t.Errorf("built image not listed:\n%s", out)
	}
	pids := buildkitChildren(r.d.root)
	if len(pids) != 1 {
		t.Fatalf("pier-buildkitd processes after a build: %v, want one", pids)
	}
	if ppid := parentOf(pids[0]); ppid != r.d.cmd.Process.Pid {
		t.Errorf("pier-buildkitd %d has parent %d, want pierd %d", pids[0], ppid, r.d.cmd.Process.Pid)
	}

	// A crash of the child: pierd stays, says so, and starts a new one.
	_ = syscall.Kill(pids[0], syscall.SIGKILL)
	if !waitFor(10*time.Second, func() bool { return strings.Contains(r.d.stderr.String(), "pier-buildkitd exited") }) {
		t.Errorf("pierd did not report the child's crash; log:\n%s", r.d.stderr)
	}
	if n := ranSteps(r.mustBuildx("buildx", "build", "--progress=plain", "-t", "bkproc", "--load", ctx)); n != 0 {
		t.Errorf("build after the child's crash ran %d RUN steps, want 0 (cache lost)", n)
	}
	again := buildkitChildren(r.d.root)
	if len(again) != 1 || again[0] == pids[0] {
		t.Fatalf("pier-buildkitd after the crash: %v (the killed one was %d)", again, pids[0])
	}

	// kill -9 of pierd: the child sees its pipe close and stops.
	_ = r.d.cmd.Process.Kill()
	<-r.d.done
	if !waitFor(15*time.Second, func() bool { return len(buildkitChildren(r.d.root)) == 0 }) {
		t.Errorf("pier-buildkitd %v outlived a killed pierd", buildkitChildren(r.d.root))
	}
	r.d = startPierd(t, r.d.dir)
	if n := ranSteps(r.mustBuildx("buildx", "build", "--progress=plain", "-t", "bkproc", "--load", ctx)); n != 0 {
		t.Errorf("build after pierd's restart ran %d RUN steps, want 0 (cache lost)", n)
	}
	r.mustDocker(nil, "rmi", "bkproc")
	r.nothingLeft()
}

// parentOf is pid's parent, from /proc/PID/stat.
func parentOf(pid int) int {
	b, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(f[1])
	return ppid
}

// TestBuildKitIdleStop: pierd stops a pier-buildkitd nobody has used for
// its idle timeout, and the next build starts one over the same cache.
func TestBuildKitIdleStop(t *testing.T) {
	t.Setenv("PIER_BUILDKIT_IDLE_TIMEOUT", "2s")
	r := newBuildRig(t)
	ctx := writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nRUN echo idle > /idle\n"})
	if n := ranSteps(r.mustBuildx("buildx", "build", "--progress=plain", "-t", "bkidle", "--load", ctx)); n != 1 {
		t.Fatalf("first build ran %d RUN steps, want 1", n)
	}
	if !waitFor(15*time.Second, func() bool { return len(buildkitChildren(r.d.root)) == 0 }) {
		t.Fatalf("pier-buildkitd %v still runs after its idle timeout", buildkitChildren(r.d.root))
	}
	if !strings.Contains(r.d.stderr.String(), "pier-buildkitd idle; stopping it") || strings.Contains(r.d.stderr.String(), "pier-buildkitd exited") {
		t.Errorf("pierd's log does not tell an idle stop from a crash:\n%s", r.d.stderr)
	}
	if n := ranSteps(r.mustBuildx("buildx", "build", "--progress=plain", "-t", "bkidle", "--load", ctx)); n != 0 {
		t.Errorf("build after the idle stop ran %d RUN steps, want 0 (cache lost)", n)
	}
	r.mustDocker(nil, "rmi", "bkidle")
	r.nothingLeft()
}
