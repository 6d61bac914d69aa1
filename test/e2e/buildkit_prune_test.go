package e2e_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pier-engine/pier/internal/testutil"
)

// TestBuildKitPruneWithoutBuildx: the classic POST /build/prune (docker
// builder prune with no buildx plugin: CLI 28 and CLI 20.10) prunes
// BuildKit's cache too: /system/df's BuildCache empties and the next
// build runs its RUN again.
func TestBuildKitPruneWithoutBuildx(t *testing.T) {
	r := newBuildRig(t)
	ctx := writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nRUN echo pruned > /p\n"})
	build := func() string {
		return r.mustBuildx("buildx", "build", "--progress=plain", "-t", "bkprune", "--load", ctx)
	}
	if n := ranSteps(build()); n != 1 {
		t.Fatalf("first build ran %d RUN steps, want 1", n)
	}
	if n := buildCacheRecords(t, r.d); n == 0 {
		t.Fatalf("/system/df: no BuildKit cache records after a build")
	}
	// CLI 20.10, without --all: the regular records (the RUN's) go.
	code, out, errs := r.docker("/usr/bin/docker", nil, "builder", "prune", "-f")
	if code != 0 || !strings.Contains(out, "Deleted build cache objects") {
		t.Errorf("CLI 20.10 builder prune -f = %d\n%s%s", code, out, errs)
	}
	if n := ranSteps(build()); n != 1 {
		t.Errorf("build after CLI 20.10's prune ran %d RUN steps, want 1 (cache not pruned)", n)
	}
	// CLI 28 with no buildx plugin (DOCKER_CONFIG without one), --all.
	code, out, errs = r.docker("/usr/local/bin/docker", []string{"DOCKER_BUILDKIT=0"}, "builder", "prune", "-af")
	if code != 0 || !strings.Contains(out, "Total reclaimed space") {
		t.Errorf("CLI 28 builder prune -af = %d\n%s%s", code, out, errs)
	}
	if n := buildCacheRecords(t, r.d); n != 0 {
		t.Errorf("/system/df after prune --all: %d build cache records, want 0", n)
	}
	if n := ranSteps(build()); n != 1 {
		t.Errorf("build after CLI 28's prune ran %d RUN steps, want 1 (cache not pruned)", n)
	}
	r.mustDocker(nil, "rmi", "bkprune")
	r.nothingLeft()
}

// sleepMark is a sleep length no other process on the machine uses: a
// RUN step sleeping it can be looked for in /proc.
func sleepMark() string { return fmt.Sprint(3000 + time.Now().UnixNano()%997) }

// sleeping reports whether a process runs "sleep <mark>".
func sleeping(mark string) bool {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && string(b) == "sleep\x00"+mark+"\x00" {
			return true
		}
	}
	return false
}

// startSleepBuild starts a docker CLI building a RUN that sleeps mark
// seconds, and waits until that RUN runs.
func startSleepBuild(t *testing.T, r *buildRig, cli, host string, env []string, mark string, args ...string) (*exec.Cmd, *testutil.SyncBuffer) {
	t.Helper()
	ctx := writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nRUN sleep " + mark + "\n"})
	cmd := exec.Command(cli, append(append([]string{"--host", host}, args...), ctx)...)
	out := &testutil.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = append(cleanEnv(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); _ = cmd.Wait() })
	if !waitFor(30*time.Second, func() bool { return sleeping(mark) }) {
		t.Fatalf("the RUN step did not start:\n%s\npierd:\n%s", out, r.d.stderr)
	}
	return cmd, out
}

// TestBuildKitCancel: POST /build/cancel with the build id docker CLI
// 20.10 gave its version-2 build stops the build while the CLI's
// connection stays open (the CLI is stopped; a proxy in front of pierd
// learns the id); buildx killed mid-build drops its connections, which
// cancels the solve. Either way the RUN's process goes and nothing is
// left.
func TestBuildKitCancel(t *testing.T) {
	r := newBuildRig(t)

	proxy, ids := buildIDProxy(t, r.d.sock)
	mark := sleepMark()
	cmd, out := startSleepBuild(t, r, "/usr/bin/docker", "unix://"+proxy, []string{"DOCKER_BUILDKIT=1", "DOCKER_CONFIG=" + t.TempDir()}, mark,
		"build", "--progress=plain")
	if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	var id string
	select {
	case id = <-ids:
	default:
		t.Fatalf("no buildid in the CLI's POST /build:\n%s", out)
	}
	if code, body := r.d.apiPost(t, "/build/cancel?id="+id, nil, ""); code != 200 {
		t.Errorf("POST /build/cancel = %d %s", code, body)
	}
	if !waitFor(5*time.Second, func() bool { return !sleeping(mark) }) {
		t.Errorf("the RUN still sleeps 5 s after POST /build/cancel?id=%s", id)
	}
	_ = cmd.Process.Signal(syscall.SIGCONT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err == nil {
			t.Errorf("the cancelled build succeeded:\n%s", out)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("CLI 20.10 still waits 10 s after its build was cancelled:\n%s", out)
	}

	mark = sleepMark() + "1"
	cfg := buildxConfig(t)
	cmd, _ = startSleepBuild(t, r, "/usr/local/bin/docker", r.d.host, []string{"DOCKER_CONFIG=" + cfg}, mark, "buildx", "build", "--progress=plain")
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	if !waitFor(10*time.Second, func() bool { return !sleeping(mark) }) {
		t.Errorf("the RUN still sleeps 10 s after buildx was killed")
	}
	// BuildKit unmounts the step's rootfs once the process has gone.
	waitFor(5*time.Second, func() bool {
		mi, _ := os.ReadFile("/proc/self/mountinfo")
		return !bytes.Contains(mi, []byte(r.d.root+"/"))
	})
	r.nothingLeft()
}

// buildxConfig is a DOCKER_CONFIG whose plugin folder holds buildx.
func buildxConfig(t *testing.T) string {
	cfg := t.TempDir()
	if err := os.MkdirAll(filepath.Join(cfg, "cli-plugins"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(buildxPlugin(t), filepath.Join(cfg, "cli-plugins", "docker-buildx")); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// buildIDProxy is a unix socket that passes every connection through to
// sock and sends the buildid of each POST /build it sees on ids.
func buildIDProxy(t *testing.T, sock string) (string, chan string) {
	t.Helper()
	path := filepath.Join(shortDir(t), "proxy.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ids := make(chan string, 4)
	re := regexp.MustCompile(`[?&]buildid=([0-9a-z]+)`)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("unix", sock)
			if err != nil {
				c.Close()
				continue
			}
			go func() {
				buf := make([]byte, 32<<10)
				for {
					n, err := c.Read(buf)
					if m := re.FindSubmatch(buf[:n]); m != nil && bytes.HasPrefix(buf[:n], []byte("POST ")) {
						ids <- string(m[1])
					}
					if n > 0 {
						if _, werr := up.Write(buf[:n]); werr != nil {
							break
						}
					}
					if err != nil {
						break
					}
				}
				up.Close()
			}()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
	return path, ids
}
