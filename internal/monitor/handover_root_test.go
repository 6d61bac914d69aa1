package monitor

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/pier-engine/pier/internal/testutil"
	"github.com/pier-engine/pier/internal/trace"
)

// watchPrivateBound is the most private memory an idle monitor may keep
// after its handover to the watch binary: issue 16's 1.5 MB per
// container (monitor + pier-init) less pier-init's 0.70 MB. Measured
// 712-752 kB (engine bench, load 27); the launch image idles at ~1.9 MB.
const watchPrivateBound = 800 << 10

var watchBuild struct {
	once sync.Once
	err  error
}

// monitorFor is a pier-monitor binary whose watch image is the watch
// binary beside it ("watch", as `make build` installs them) or itself
// ("self", a copy alone in a temp dir). Both are fsynced: a freshly
// written binary's dirty page cache would count as its processes'
// private memory.
func (h *harness) monitorFor(mode string) string {
	h.t.Helper()
	mon := h.monitor
	if mode == "self" {
		mon = filepath.Join(h.t.TempDir(), "pier-monitor")
		b, err := os.ReadFile(h.monitor)
		if err == nil {
			err = os.WriteFile(mon, b, 0o755)
		}
		if err != nil {
			h.t.Fatal(err)
		}
	} else {
		watch := filepath.Join(filepath.Dir(mon), WatchBinaryName)
		if os.Getenv(testutil.BinDirEnv) == "" {
			watchBuild.once.Do(func() {
				cmd := exec.Command("go", "build", "-tags", "monitorwatch", "-o", watch, "./cmd/pier-monitor")
				cmd.Dir, cmd.Env = testutil.RepoRoot(h.t), append(os.Environ(), "CGO_ENABLED=0")
				if b, err := cmd.CombinedOutput(); err != nil {
					watchBuild.err = fmt.Errorf("go build %s: %w\n%s", watch, err, b)
				}
			})
		}
		if watchBuild.err != nil {
			h.t.Fatal(watchBuild.err)
		}
		if _, err := os.Stat(watch); err != nil {
			h.t.Fatalf("%v (run make build)", err)
		}
		fsync(h.t, watch)
	}
	fsync(h.t, mon)
	return mon
}

func fsync(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
}

// exeOf is the basename of pid's binary, "" once it is gone.
func exeOf(pid int) string {
	p, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return ""
	}
	return filepath.Base(p)
}

// waitWatching waits until monitor pid runs its watch image.
func waitWatching(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if bytes.Contains(b, []byte("\x00--watch\x00")) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("monitor %d did not hand over to its watch image", pid)
}

// monitorMarks are the phases the monitor pid marked in a trace file.
func monitorMarks(t *testing.T, path string, pid int) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var marks []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.SplitN(line, " ", 4)
		if len(f) == 4 && f[1] == strconv.Itoa(pid) && f[2] == "monitor" {
			marks = append(marks, f[3])
		}
	}
	return marks
}

func index(marks []string, phase string) int {
	for i, m := range marks {
		if m == phase {
			return i
		}
	}
	return -1
}

// TestHandoverKeepsExitStatus makes the container exit while its monitor
// is between holding the reaper and its exec (widened to a second): the
// exit must wait as a zombie and be reaped, with its code, by the watch
// image.
func TestHandoverKeepsExitStatus(t *testing.T) {
	for _, mode := range []string{"watch", "self"} {
		t.Run(mode, func(t *testing.T) {
			h := newHarness(t)
			h.monitor = h.monitorFor(mode)
			traceFile := filepath.Join(t.TempDir(), "trace")
			t.Setenv(trace.Env, traceFile)
			t.Setenv(HandoverEnv, "50ms")
			t.Setenv(handoverStallEnv, "1s")
			cfg := h.config(h.bundle([]string{"sh", "-c", "sleep 0.3; exit 7"}, nil))
			mon := h.start(cfg)
			deadline := time.Now().Add(5 * time.Second)
			for {
				b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", mon.ContainerPid))
				if err == nil && zombie(b) {
					break
				}
				if err != nil || time.Now().After(deadline) {
					t.Fatalf("container init %d was not seen as a zombie: %v", mon.ContainerPid, err)
				}
				time.Sleep(5 * time.Millisecond)
			}
			if marks := monitorMarks(t, traceFile, mon.Pid); index(marks, "handover exec") >= 0 || index(marks, "handover held") < 0 {
				t.Fatalf("the container ended outside the handover's window: monitor marks %q", marks)
			}
			if st := waitStatus(t, cfg.StatusFile); st.ExitCode != 7 || st.Pid != mon.ContainerPid {
				t.Errorf("status %+v, want exit 7 of pid %d", st, mon.ContainerPid)
			}
			waitFileGone(t, cfg.MonitorPidFile)
			marks := monitorMarks(t, traceFile, mon.Pid)
			w, exited := index(marks, "watch image"), index(marks, "container exited")
			if w < 0 || exited < w {
				t.Errorf("monitor marks %q: the watch image did not reap the init", marks)
			}
			if f := index(marks, "finish image"); mode == "watch" && f < exited {
				t.Errorf("monitor marks %q: the watch binary did not hand the delete to the full monitor", marks)
			}
		})
	}
}

// TestHandoverKeepsLogAndStdin hands a container over with half a line
// in its log stream, then attaches to the watch image: the line must be
// logged whole, and stdin, output and (with a tty) resizes must reach it.
func TestHandoverKeepsLogAndStdin(t *testing.T) {
	for _, tty := range []bool{false, true} {
		t.Run(fmt.Sprintf("tty=%v", tty), func(t *testing.T) {
			h := newHarness(t)
			h.monitor = h.monitorFor("watch")
			t.Setenv(HandoverEnv, "200ms")
			cfg := h.config(h.bundle([]string{"sh", "-c", "printf a-; read x; echo b-$x; stty size 2>&1; exit 3"}, func(s *specs.Spec) {
				s.Process.Terminal = tty
			}))
			cfg.AttachSocket = filepath.Join(filepath.Dir(cfg.LogPath), "attach.sock")
			cfg.Tty, cfg.OpenStdin = tty, true
			mon := h.start(cfg)
			waitWatching(t, mon.Pid)
			a, err := Attach(cfg.AttachSocket, AttachStdin|AttachStdout|AttachStderr)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			if tty {
				if err := a.Resize(33, 77); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := a.Write([]byte("hello\n")); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			readUntil(t, a, &out, "b-hello")
			if tty {
				readUntil(t, a, &out, "33 77")
			}
			for err == nil {
				_, _, err = a.Next()
			}
			if err != io.EOF {
				t.Errorf("after the exit: %v, want EOF", err)
			}
			if st := waitStatus(t, cfg.StatusFile); st.ExitCode != 3 {
				t.Errorf("status %+v, want exit 3", st)
			}
			var lines []string
			for _, e := range readLog(t, cfg.LogPath) {
				lines = append(lines, string(e.Line))
			}
			// "a-" was pending at the handover; the rest of its line (the
			// terminal's echo of our input, or b-hello) came after it.
			if len(lines) == 0 || !strings.HasPrefix(lines[0], "a-") || !strings.HasSuffix(lines[0], "\n") || !strings.Contains(lines[0], "hello") {
				t.Errorf("log %q: want the line begun before the handover logged whole", lines)
			}
		})
	}
}

// TestWatchMemory bounds an idle monitor's private memory after its
// handover (Private_Dirty, as bench/engine measures it).
func TestWatchMemory(t *testing.T) {
	h := newHarness(t)
	h.monitor = h.monitorFor("watch")
	t.Setenv(HandoverEnv, "100ms")
	cfg := h.config(h.bundle([]string{"sleep", "60"}, nil))
	cfg.AttachSocket = filepath.Join(filepath.Dir(cfg.LogPath), "attach.sock")
	mon := h.start(cfg)
	launch := privateDirty(t, mon.Pid)
	waitWatching(t, mon.Pid)
	if exe := exeOf(mon.Pid); exe != WatchBinaryName {
		t.Errorf("the watch image runs %q, want %s", exe, WatchBinaryName)
	}
	time.Sleep(500 * time.Millisecond) // idle: what the resume allocated has settled
	watch := privateDirty(t, mon.Pid)
	t.Logf("monitor Private_Dirty: launch image %d kB, watch image %d kB", launch>>10, watch>>10)
	if watch > watchPrivateBound {
		t.Errorf("idle monitor after its handover: Private_Dirty %d kB, want <= %d kB", watch>>10, watchPrivateBound>>10)
	}
	if b, err := exec.Command(h.runtime, "--root", h.root, "kill", cfg.ID, "KILL").CombinedOutput(); err != nil {
		t.Fatalf("kill: %v: %s", err, b)
	}
	if st := waitStatus(t, cfg.StatusFile); st.ExitCode != 128+int(syscall.SIGKILL) {
		t.Errorf("status %+v, want exit 137", st)
	}
	waitFileGone(t, cfg.MonitorPidFile)
	if _, err := os.Stat(filepath.Join(h.root, cfg.ID)); !os.IsNotExist(err) {
		t.Errorf("the finish image did not delete the container: %v", err)
	}
}

// privateDirty is pid's Private_Dirty in bytes.
func privateDirty(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "Private_Dirty:" {
			kb, err := strconv.Atoi(f[1])
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no Private_Dirty in /proc/%d/smaps_rollup", pid)
	return 0
}
