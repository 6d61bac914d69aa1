package monitor

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pier-engine/pier/internal/logfile"
)

func TestMemfdRoundTrip(t *testing.T) {
	in := handover{Config: Config{ID: "c1", LogPath: "/x/json.log", Tty: true}, Pid: 42,
		Readers: [2]int{5, -1}, Pending: [2][]byte{[]byte("half a li\x00ne"), nil}, Stdin: -1, Listener: 9,
		Self: []string{"pier-monitor", "/x/monitor.json"}}
	fd, err := writeMemfd("test", in)
	if err != nil {
		t.Fatal(err)
	}
	var out handover
	if err := readMemfd(fd, &out); err != nil {
		t.Fatal(err)
	}
	if out.Config.ID != "c1" || !out.Config.Tty || out.Pid != 42 || out.Readers != in.Readers ||
		string(out.Pending[0]) != string(in.Pending[0]) || out.Listener != 9 || len(out.Self) != 2 {
		t.Errorf("read back %+v, want %+v", out, in)
	}
}

// The hub pauses only when no connection is served, and accepts again
// after resume; a client that connected while it was paused is served.
func TestHubPauseWaitsForIdle(t *testing.T) {
	path := filepath.Join(t.TempDir(), "attach.sock")
	h, err := newHub(&monitor{}, path)
	if err != nil {
		t.Fatal(err)
	}
	defer h.close(path, time.Second)
	if !h.pause() {
		t.Fatal("an idle hub did not pause")
	}
	a, err := Attach(path, AttachStdout) // waits in the listen queue
	if err != nil {
		t.Fatal(err)
	}
	h.resume()
	waitFor(t, "the queued client to be served", func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.registered == 1
	})
	if h.pause() {
		t.Fatal("the hub paused with a client attached")
	}
	h.resume()
	a.Close()
	waitFor(t, "the hub to pause once the client left", func() bool {
		if h.pause() {
			return true
		}
		h.resume()
		return false
	})
}

// Copiers paused between reads keep a partial line pending in their
// stream; resumed, they complete it into one log entry.
func TestCopierPauseKeepsPendingLine(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "json.log")
	w, err := logfile.Open(logPath, logfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	m := &monitor{log: w}
	m.readers[0], m.streams[0] = r, logfile.NewStream(w, "stdout")
	m.copiers.Add(1)
	go m.copy(m.streams[0], FrameStdout, r)
	pw.WriteString("abc")
	waitFor(t, "the copier to read abc", func() bool {
		// Pause to look: Pending is not safe beside a running copier.
		m.pauseCopiers()
		got := string(m.streams[0].Pending())
		if got != "abc" {
			m.resumeCopiers()
		}
		return got == "abc"
	})
	m.resumeCopiers()
	pw.WriteString("def\n")
	pw.Close()
	m.drain()
	var lines []string
	err = logfile.Read(context.Background(), logPath, logfile.ReadOptions{Tail: -1}, func(e logfile.Entry) error {
		lines = append(lines, string(e.Line))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 1 || lines[0] != "abcdef\n" {
		t.Errorf("log %q, want one entry abcdef", lines)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}
