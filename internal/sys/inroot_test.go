package sys

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// hostile builds tmp/root and tmp/outside; root holds symlinks that try to
// reach outside every way a rootfs could. It returns root and outside.
func hostile(t *testing.T) (string, string) {
	t.Helper()
	tmp := t.TempDir()
	root := filepath.Join(tmp, "root")
	outside := filepath.Join(tmp, "outside")
	for _, d := range []string{root, outside, filepath.Join(root, "etc"), filepath.Join(root, "outside"), filepath.Join(root, "d")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write(t, filepath.Join(outside, "secret"), "outside")
	write(t, filepath.Join(root, "outside", "secret"), "inside")
	write(t, filepath.Join(root, "etc", "hostname"), "inside")
	links := map[string]string{
		"abs":      outside,         // absolute host path
		"etc-link": "/etc",          // absolute, means root/etc
		"up":       "../../../..",   // climbs above root
		"d/up":     "../../outside", // climbs above root from a subdirectory
		"self":     "/proc/self/root",
		"loop":     "loop",
		"dangling": "../outside/newfile",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	return root, outside
}

func write(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, f *os.File) string {
	t.Helper()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// both runs fn with openat2 and with the fallback walk.
func both(t *testing.T, fn func(t *testing.T)) {
	t.Run("openat2", fn)
	t.Run("walk", func(t *testing.T) {
		useOpenat2 = false
		defer func() { useOpenat2 = true }()
		fn(t)
	})
}

func TestOpenInRootStaysInside(t *testing.T) {
	both(t, func(t *testing.T) {
		root, _ := hostile(t)
		for _, p := range []string{
			"outside/secret", "/outside/secret", "up/outside/secret", "d/up/secret",
			"../../outside/secret", "etc-link/../outside/secret",
		} {
			f, err := OpenInRoot(root, p, unix.O_RDONLY)
			if err != nil {
				t.Errorf("open %s: %v", p, err)
				continue
			}
			if got := read(t, f); got != "inside" {
				t.Errorf("open %s read %q, want the rootfs copy", p, got)
			}
			f.Close()
		}
		f, err := OpenInRoot(root, "etc-link/hostname", unix.O_RDONLY)
		if err != nil {
			t.Fatal(err)
		}
		if got := read(t, f); got != "inside" {
			t.Errorf("etc-link/hostname read %q, want the rootfs's /etc", got)
		}
		f.Close()
	})
}

func TestOpenInRootRefusesEscapes(t *testing.T) {
	both(t, func(t *testing.T) {
		root, _ := hostile(t)
		for _, p := range []string{"abs/secret", "self/etc/hostname"} {
			f, err := OpenInRoot(root, p, unix.O_RDONLY)
			if err == nil {
				t.Errorf("open %s: got %q, want an error (the target is outside)", p, read(t, f))
				f.Close()
			}
		}
		if _, err := OpenInRoot(root, "loop", unix.O_RDONLY); !errors.Is(err, unix.ELOOP) {
			t.Errorf("open loop: %v, want ELOOP", err)
		}
		if _, err := OpenInRoot(root, "x", unix.O_RDONLY|unix.O_CREAT); err == nil {
			t.Errorf("O_CREAT accepted")
		}
	})
}

func TestMkdirAllInRootCreatesInside(t *testing.T) {
	root, outside := hostile(t)
	for _, p := range []string{"abs/a/b", "up/tmp/x", "d/up/y", "/etc-link/z", "../../w"} {
		f, err := MkdirAllInRoot(root, p, 0o755)
		if err != nil {
			t.Errorf("mkdir %s: %v", p, err)
			continue
		}
		f.Close()
	}
	for _, p := range []string{
		root + outside + "/a/b", // abs -> outside, taken as root/<outside>
		root + "/tmp/x", root + "/outside/y", root + "/etc/z", root + "/w",
	} {
		if st, err := os.Stat(p); err != nil || !st.IsDir() {
			t.Errorf("%s: want a directory (%v)", p, err)
		}
	}
	assertUntouched(t, outside, "secret")
}

func TestMkdirAllInRootNotADirectory(t *testing.T) {
	root, _ := hostile(t)
	if _, err := MkdirAllInRoot(root, "etc/hostname", 0o755); !errors.Is(err, unix.ENOTDIR) {
		t.Errorf("mkdir over a file: %v, want ENOTDIR", err)
	}
	if _, err := MkdirAllInRoot(root, "etc/hostname/x", 0o755); !errors.Is(err, unix.ENOTDIR) {
		t.Errorf("mkdir under a file: %v, want ENOTDIR", err)
	}
}

func TestMkfileInRoot(t *testing.T) {
	root, outside := hostile(t)
	for _, p := range []string{"dangling", "abs/f", "up/dev/null", "d/up/g"} {
		f, err := MkfileInRoot(root, p, 0o600)
		if err != nil {
			t.Errorf("mkfile %s: %v", p, err)
			continue
		}
		f.Close()
	}
	for _, p := range []string{root + "/outside/newfile", root + outside + "/f", root + "/dev/null", root + "/outside/g"} {
		if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() {
			t.Errorf("%s: want a regular file (%v)", p, err)
		}
	}
	// Parents made on the way are usable directories, not 0600 like the file.
	if st, err := os.Stat(root + outside); err != nil || st.Mode().Perm()&0o700 != 0o700 {
		t.Errorf("parent %s: mode %v (%v), want at least rwx for its owner", root+outside, st.Mode(), err)
	}
	// An existing object is returned as is.
	f, err := MkfileInRoot(root, "etc", 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := requireType(int(f.Fd()), unix.S_IFDIR); err != nil {
		t.Errorf("existing etc: %v", err)
	}
	assertUntouched(t, outside, "secret")
}

func assertUntouched(t *testing.T, dir string, want ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if len(got) != len(want) {
		t.Fatalf("%s holds %v, want only %v: something escaped the root", dir, got, want)
	}
}
