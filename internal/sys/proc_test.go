package sys

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestOpenProcChecksTheRoot(t *testing.T) {
	proc, err := OpenProc("/proc")
	if err != nil {
		t.Fatal(err)
	}
	proc.Close()
	for _, dir := range []string{t.TempDir(), "/proc/sys/kernel", "/proc/sys"} {
		if f, err := OpenProc(dir); err == nil {
			f.Close()
			t.Errorf("OpenProc(%s) accepted a directory that is not a procfs root", dir)
		} else if !errors.Is(err, errNotProc) {
			t.Errorf("OpenProc(%s): %v, want errNotProc", dir, err)
		}
	}
	link := filepath.Join(t.TempDir(), "proc")
	if err := os.Symlink("/proc", link); err != nil {
		t.Fatal(err)
	}
	if f, err := OpenProc(link); err == nil {
		f.Close()
		t.Error("OpenProc followed a symlink to /proc")
	}
}

func TestOpenInProc(t *testing.T) {
	both(t, func(t *testing.T) {
		proc, err := OpenProc("/proc")
		if err != nil {
			t.Fatal(err)
		}
		defer proc.Close()
		// "self" is procfs's own symlink: followed, it stays beneath.
		f, err := OpenInProc(proc, "self/status", unix.O_RDONLY)
		if err != nil {
			t.Fatal(err)
		}
		if s := read(t, f); !strings.Contains(s, "Pid:") {
			t.Errorf("self/status: %q", s)
		}
		f.Close()
		for _, name := range []string{"../etc/passwd", "/etc/passwd", "self/../../etc/passwd", "self/root/etc/passwd", "self/cwd"} {
			if f, err := OpenInProc(proc, name, unix.O_RDONLY); err == nil {
				f.Close()
				t.Errorf("OpenInProc(%s) left procfs", name)
			}
		}
	})
}

func TestOpenNoSymlinks(t *testing.T) {
	both(t, func(t *testing.T) {
		root, _ := hostile(t)
		f, err := OpenNoSymlinks(root, "/etc/hostname", unix.O_RDONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		if s := read(t, f); s != "inside" {
			t.Errorf("etc/hostname: %q", s)
		}
		f.Close()
		for _, p := range []string{"etc-link/hostname", "d/up/secret", "abs/secret"} {
			if f, err := OpenNoSymlinks(root, p, unix.O_RDONLY, 0); err == nil {
				f.Close()
				t.Errorf("OpenNoSymlinks(%s) went through a symlink", p)
			} else if !errors.Is(err, unix.ELOOP) {
				t.Errorf("OpenNoSymlinks(%s): %v, want ELOOP", p, err)
			}
		}
		// A symlink as the last component: O_PATH|O_NOFOLLOW gets the link
		// itself, which callers see with fstat; anything else is ELOOP.
		if f, err := OpenNoSymlinks(root, "dangling", unix.O_CREAT|unix.O_EXCL|unix.O_RDONLY, 0o600); err == nil {
			f.Close()
			t.Error("OpenNoSymlinks created through a dangling symlink")
		}
		f, err = OpenNoSymlinks(root, "etc/new", unix.O_CREAT|unix.O_EXCL|unix.O_RDONLY, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		if _, err := os.Stat(filepath.Join(root, "etc", "new")); err != nil {
			t.Errorf("O_CREAT made no etc/new: %v", err)
		}
	})
}

func TestChmodFdDoesNotFollow(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	write(t, target, "x")
	if err := os.Chmod(target, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	open := func(name string) *os.File {
		fd, err := unix.Open(filepath.Join(dir, name), unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		return os.NewFile(uintptr(fd), name)
	}
	link := open("link")
	defer link.Close()
	_ = ChmodFd(link, 0o666) // a symlink's own mode cannot change; the point is what else did
	if st, _ := os.Stat(target); st.Mode().Perm() != 0o600 {
		t.Errorf("chmod of a symlink's fd changed its target to %v", st.Mode().Perm())
	}
	f := open("target")
	defer f.Close()
	if err := ChmodFd(f, 0o640); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(target); st.Mode().Perm() != 0o640 {
		t.Errorf("ChmodFd: mode %v, want 0640", st.Mode().Perm())
	}
}
