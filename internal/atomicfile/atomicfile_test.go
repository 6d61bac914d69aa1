package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"github.com/pier-engine/pier/internal/testutil"
)

func TestWriteFileCreatesWithExactMode(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	dir := t.TempDir()
	p := filepath.Join(dir, "state.json")
	if err := WriteFile(p, []byte("one"), 0o644); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644 whatever the umask", fi.Mode().Perm())
	}
	if got := testutil.DirNames(t, dir); len(got) != 1 || got[0] != "state.json" {
		t.Errorf("directory holds %v, want only state.json", got)
	}
}

func TestWriteFileReplaces(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	for _, want := range []string{"first, longer content", "second"} {
		if err := WriteFile(p, []byte(want), 0o600); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != want {
			t.Errorf("content %q, want %q", b, want)
		}
	}
}

func TestFailedWriteKeepsOldFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := WriteFile(p, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := Write(p, 0o600, func(w io.Writer) error {
		io.WriteString(w, "half of the new")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err %v, want it to wrap the fill's error", err)
	}
	b, _ := os.ReadFile(p)
	if string(b) != "old" {
		t.Errorf("content %q after a failed write, want the old one", b)
	}
	if got := testutil.DirNames(t, dir); len(got) != 1 {
		t.Errorf("directory holds %v: the temporary file was left", got)
	}
}

func TestWriteIntoMissingDirFails(t *testing.T) {
	p := filepath.Join(t.TempDir(), "no", "f")
	if err := WriteFile(p, nil, 0o600); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err %v, want not-exist", err)
	}
}

// Concurrent writers of one file each use their own temporary: the file
// ends up whole, as one of them wrote it, and nothing else remains.
func TestConcurrentWritersDoNotMix(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	var wg sync.WaitGroup
	want := map[string]bool{}
	for i := range 8 {
		data := fmt.Sprintf("writer %d %0500d", i, i)
		want[data] = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := WriteFile(p, []byte(data), 0o600); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	b, _ := os.ReadFile(p)
	if !want[string(b)] {
		t.Errorf("content %.40q... is none of the writers'", b)
	}
	if got := testutil.DirNames(t, dir); len(got) != 1 {
		t.Errorf("directory holds %v, want only f", got)
	}
}

func TestIsTemp(t *testing.T) {
	dir := t.TempDir()
	var seen string
	Write(filepath.Join(dir, "rec.json"), 0o600, func(io.Writer) error {
		seen = testutil.DirNames(t, dir)[0]
		return errors.New("stop")
	})
	if !IsTemp(seen) {
		t.Errorf("IsTemp(%q) = false for the package's own temporary", seen)
	}
	if IsTemp("rec.json") {
		t.Error("IsTemp(rec.json) = true")
	}
}
