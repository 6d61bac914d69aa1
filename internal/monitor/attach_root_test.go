package monitor

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// startAttached starts cfg's container with one client attached before
// its start (AttachWait 1), as pierd does for `docker run -it`.
func (h *harness) startAttached(cfg Config, flags byte) *Attachment {
	h.t.Helper()
	cfg.AttachSocket = filepath.Join(filepath.Dir(cfg.LogPath), "attach.sock")
	cfg.AttachWait = 1
	got := make(chan *Attachment, 1)
	go func() {
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			if a, err := Attach(cfg.AttachSocket, flags); err == nil {
				got <- a
				return
			}
		}
		got <- nil
	}()
	h.start(cfg)
	a := <-got
	if a == nil {
		h.t.Fatal("could not attach before the start")
	}
	h.t.Cleanup(func() { a.Close() })
	return a
}

// readUntil reads a's output until it contains want.
func readUntil(t *testing.T, a *Attachment, out *bytes.Buffer, want string) {
	t.Helper()
	timer := time.AfterFunc(5*time.Second, func() { a.Close() })
	defer timer.Stop()
	for !strings.Contains(out.String(), want) {
		_, p, err := a.Next()
		if err != nil {
			t.Fatalf("output %q, want %q: %v", out.String(), want, err)
		}
		out.Write(p)
	}
}

func TestTtyAttachResizeAndExit(t *testing.T) {
	h := newHarness(t)
	cfg := h.config(h.bundle([]string{"sh", "-c", "tty; read x; echo got $x; stty size; exit 3"}, func(s *specs.Spec) {
		s.Process.Terminal = true
	}))
	cfg.Tty, cfg.OpenStdin = true, true
	a := h.startAttached(cfg, AttachStdin|AttachStdout|AttachStderr)
	var out bytes.Buffer
	readUntil(t, a, &out, "/dev/pts/0")
	if err := a.Resize(33, 77); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Write([]byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	readUntil(t, a, &out, "33 77")
	if !strings.Contains(out.String(), "got hello") {
		t.Errorf("output %q lacks the echo of our stdin", out.String())
	}
	// The rest of the output (the line's end may come in a frame of its
	// own) and then EOF.
	var err error
	for n := 0; err == nil && n < 100; n++ {
		_, _, err = a.Next()
	}
	if !errors.Is(err, io.EOF) {
		t.Errorf("after the exit: %v, want EOF", err)
	}
	if st := waitStatus(t, cfg.StatusFile); st.ExitCode != 3 {
		t.Errorf("status %+v, want exit 3", st)
	}
	var logged string
	for _, e := range readLog(t, cfg.LogPath) {
		if e.Stream != "stdout" {
			t.Errorf("a tty's log entry on %s", e.Stream)
		}
		logged += string(e.Line)
	}
	if !strings.Contains(logged, "/dev/pts/0") || !strings.Contains(logged, "33 77") {
		t.Errorf("log %q lacks the terminal's output", logged)
	}
}

func TestStdinOnceClosesAtEOF(t *testing.T) {
	h := newHarness(t)
	cfg := h.config(h.bundle([]string{"sh", "-c", "cat; echo done >&2"}, nil))
	cfg.OpenStdin, cfg.StdinOnce = true, true
	a := h.startAttached(cfg, AttachStdin|AttachStdout|AttachStderr)
	if _, err := a.Write([]byte("abc\n")); err != nil {
		t.Fatal(err)
	}
	if err := a.CloseStdin(); err != nil {
		t.Fatal(err)
	}
	streams := map[byte]string{}
	for {
		typ, p, err := a.Next()
		if err != nil {
			break
		}
		streams[typ] += string(p)
	}
	if streams[FrameStdout] != "abc\n" || streams[FrameStderr] != "done\n" {
		t.Errorf("output %q, want abc on stdout and done on stderr", streams)
	}
	if st := waitStatus(t, cfg.StatusFile); st.ExitCode != 0 {
		t.Errorf("status %+v, want exit 0", st)
	}
}
