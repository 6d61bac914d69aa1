package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/pier-engine/pier/internal/decompress"
	"github.com/pier-engine/pier/internal/testutil"
	"golang.org/x/sys/unix"
)

var unpriv = Options{Unprivileged: true, Whiteouts: WhiteoutApply}

func extract(t *testing.T, dst string, opts Options, ents ...testutil.TarEntry) error {
	t.Helper()
	return Extract(context.Background(), bytes.NewReader(testutil.Tar(t, ents...)), dst, opts)
}

func TestExtractPreservesEntries(t *testing.T) {
	dst := t.TempDir()
	err := extract(t, dst, unpriv,
		testutil.TarEntry{Name: "bin/", Type: tar.TypeDir, Mode: 0o555},
		testutil.TarEntry{Name: "bin/tool", Body: "#!x", Mode: 0o4755},
		testutil.TarEntry{Name: "bin/alias", Type: tar.TypeSymlink, Link: "tool"},
		testutil.TarEntry{Name: "bin/hard", Type: tar.TypeLink, Link: "bin/tool"},
		testutil.TarEntry{Name: "run/fifo", Type: tar.TypeFifo, Mode: 0o600},
		testutil.TarEntry{Name: "etc/conf", Body: "c", Xattrs: map[string]string{"user.pier": "v"}},
	)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(filepath.Join(dst, "bin"))
	if err != nil || fi.Mode().Perm() != 0o555 || !fi.ModTime().Equal(testutil.TarTime) {
		t.Errorf("bin: %v %v", fi.Mode(), err)
	}
	fi, _ = os.Lstat(filepath.Join(dst, "bin/tool"))
	if fi.Mode()&os.ModeSetuid == 0 || fi.Mode().Perm() != 0o755 || !fi.ModTime().Equal(testutil.TarTime) {
		t.Errorf("bin/tool: mode %v mtime %v", fi.Mode(), fi.ModTime())
	}
	if l, _ := os.Readlink(filepath.Join(dst, "bin/alias")); l != "tool" {
		t.Errorf("bin/alias -> %q", l)
	}
	var a, b unix.Stat_t
	_ = unix.Lstat(filepath.Join(dst, "bin/tool"), &a)
	_ = unix.Lstat(filepath.Join(dst, "bin/hard"), &b)
	if a.Ino != b.Ino || a.Nlink != 2 {
		t.Errorf("bin/hard is not a hardlink of bin/tool: ino %d vs %d", a.Ino, b.Ino)
	}
	if fi, err := os.Lstat(filepath.Join(dst, "run/fifo")); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("run/fifo: %v", err)
	}
	val := make([]byte, 16)
	if n, err := unix.Getxattr(filepath.Join(dst, "etc/conf"), "user.pier", val); err != nil || string(val[:n]) != "v" {
		t.Errorf("xattr: %q %v", val[:n], err)
	}
	if err := os.Chmod(filepath.Join(dst, "bin"), 0o755); err != nil { // let TempDir clean up
		t.Fatal(err)
	}
}

func TestExtractWhiteoutApply(t *testing.T) {
	dst := t.TempDir()
	if err := extract(t, dst, unpriv,
		testutil.TarEntry{Name: "a", Body: "a"}, testutil.TarEntry{Name: "keep", Body: "k"},
		testutil.TarEntry{Name: "d/old", Body: "o"}, testutil.TarEntry{Name: "d/sub/old", Body: "o"},
	); err != nil {
		t.Fatal(err)
	}
	if err := extract(t, dst, unpriv,
		testutil.TarEntry{Name: ".wh.a"},
		testutil.TarEntry{Name: "d/new/f", Body: "n"},
		testutil.TarEntry{Name: "d/.wh..wh..opq"},
		testutil.TarEntry{Name: ".wh..wh.plnk"},
		testutil.TarEntry{Name: "gone/.wh.x"},
	); err != nil {
		t.Fatal(err)
	}
	want := "d drwxr-xr-x\nd/new drwxr-xr-x\nd/new/f -rw-r--r--\nkeep -rw-r--r--"
	if got := names(t, dst); got != want {
		t.Errorf("tree:\n%s\nwant:\n%s", got, want)
	}
}

func names(t *testing.T, dir string) string {
	t.Helper()
	var out []string
	_ = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && p != dir {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel+" "+fi.Mode().String())
		}
		return err
	})
	return join(out)
}

func join(s []string) string {
	var b bytes.Buffer
	for i, l := range s {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(l)
	}
	return b.String()
}

func TestExtractReplacesEntries(t *testing.T) {
	dst := t.TempDir()
	if err := extract(t, dst, unpriv,
		testutil.TarEntry{Name: "x/", Type: tar.TypeDir}, testutil.TarEntry{Name: "x/f", Body: "1"},
		testutil.TarEntry{Name: "x", Body: "file now"},
		testutil.TarEntry{Name: "y", Body: "1"}, testutil.TarEntry{Name: "y/", Type: tar.TypeDir},
	); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "x")); string(b) != "file now" {
		t.Errorf("x = %q", b)
	}
	if fi, err := os.Lstat(filepath.Join(dst, "y")); err != nil || !fi.IsDir() {
		t.Errorf("y is not a directory: %v", err)
	}
}

func TestDecompress(t *testing.T) {
	raw := testutil.Tar(t, testutil.TarEntry{Name: "f", Body: "hello"})
	for name, enc := range map[string][]byte{"plain": raw, "gzip": gz(t, raw)} {
		r, err := decompress.Open(bytes.NewReader(enc))
		if err != nil {
			t.Fatal(name, err)
		}
		dst := t.TempDir()
		if err := Extract(context.Background(), r, dst, unpriv); err != nil {
			t.Fatal(name, err)
		}
		if b, _ := os.ReadFile(filepath.Join(dst, "f")); string(b) != "hello" {
			t.Errorf("%s: f = %q", name, b)
		}
	}
}
