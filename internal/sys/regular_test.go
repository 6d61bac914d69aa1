package sys

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestOpenRegularInRoot(t *testing.T) {
	root := t.TempDir()
	os.Mkdir(filepath.Join(root, "etc"), 0o755)
	write(t, filepath.Join(root, "etc/passwd"), "root:x:0:0::/:/bin/sh\n")
	f, err := OpenRegularInRoot(root, "/etc/passwd")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(f)
	f.Close()
	if string(b) != "root:x:0:0::/:/bin/sh\n" {
		t.Fatalf("read %q", b)
	}
	if err := syscall.Mkfifo(filepath.Join(root, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Symlink("/dev/zero", filepath.Join(root, "zero"))
	os.Symlink("etc/passwd", filepath.Join(root, "link"))
	os.Mkdir(filepath.Join(root, "dir"), 0o755)
	// A link resolves inside root: "zero" names root's /dev/zero, absent
	// here, never the host's; "link" reaches the regular file.
	os.Symlink("/fifo", filepath.Join(root, "fifolink"))
	for name, want := range map[string]error{"fifo": unix.EINVAL, "fifolink": unix.EINVAL, "zero": unix.ENOENT, "link": nil, "dir": unix.EINVAL} {
		done := make(chan error, 1)
		go func() {
			f, err := OpenRegularInRoot(root, name)
			if err == nil {
				f.Close()
			}
			done <- err
		}()
		select {
		case err := <-done:
			if !errors.Is(err, want) {
				t.Errorf("%s: %v, want %v", name, err, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: open still blocked after 5 s", name)
		}
	}
}
