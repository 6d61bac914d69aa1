package monitor

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pier-engine/pier/internal/errdefs"
)

func TestStatusRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "status.json")
	if _, err := ReadStatus(path); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("no status yet: %v, want ErrNotFound", err)
	}
	start := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	want := Status{Pid: 42, ExitCode: 137, OOMKilled: true, StartedAt: start, FinishedAt: start.Add(time.Second)}
	if err := WriteStatus(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := ReadStatus(path)
	if err != nil || got != want {
		t.Errorf("ReadStatus = %+v, %v; want %+v", got, err, want)
	}
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), `"exitCode":137,"oomKilled":true`) {
		t.Errorf("status file %s lacks the documented keys", b)
	}
}

// TestStatusAtomic overwrites a status many times while a reader reads it:
// the reader must only ever see a whole record, and no temp file stays.
func TestStatusAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "status.json")
	big := Status{Error: strings.Repeat("x", 64<<10)}
	if err := WriteStatus(path, big); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	done := make(chan error)
	go func() {
		for {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			if _, err := ReadStatus(path); err != nil {
				done <- err
				return
			}
		}
	}()
	for i := range 200 {
		s := big
		if i%2 == 1 {
			s = Status{ExitCode: i}
		}
		if err := WriteStatus(path, s); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatalf("a reader saw a partial status: %v", err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("dir holds %d entries after the writes, want only status.json", len(ents))
	}
}

func TestReadPid(t *testing.T) {
	dir := t.TempDir()
	for content, want := range map[string]int{"123": 123, "456\n": 456, "": 0, "x": 0, "-1": 0} {
		p := filepath.Join(dir, "pid")
		os.WriteFile(p, []byte(content), 0o600)
		got, err := ReadPid(p)
		if got != want || (want == 0) != (err != nil) {
			t.Errorf("ReadPid(%q) = %d, %v; want %d", content, got, err, want)
		}
	}
}

func TestExitCode(t *testing.T) {
	for _, c := range []struct {
		ws   unix.WaitStatus
		want int
	}{
		{0, 0}, {3 << 8, 3}, {127 << 8, 127}, {unix.WaitStatus(unix.SIGKILL), 137},
		{unix.WaitStatus(unix.SIGTERM), 143}, {unix.WaitStatus(unix.SIGSEGV) | 0x80, 139},
	} {
		if got := exitCode(c.ws); got != c.want {
			t.Errorf("exitCode(%#x) = %d, want %d", uint32(c.ws), got, c.want)
		}
	}
}
