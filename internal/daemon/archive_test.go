package daemon

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/moby/moby/api/types/container"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/pier-engine/pier/internal/errdefs"
)

func TestCpAbs(t *testing.T) {
	for in, want := range map[string]string{
		"etc": "/etc", "/etc/": "/etc/", "/etc/.": "/etc/.", "/etc/./": "/etc/./",
		"/": "/", ".": "/", "/a/../b": "/b", "a//b/": "/a/b/", "/..": "/",
	} {
		if got := cpAbs(in); got != want {
			t.Errorf("cpAbs(%q) = %q, want %q", in, got, want)
		}
	}
}

// testFS is a stopped container's file system: rootfs with etc/passwd,
// a directory d with a file and a symlink, and links that try to leave.
func testFS(t *testing.T) (*ctrFS, string) {
	t.Helper()
	top := t.TempDir()
	root := filepath.Join(top, "rootfs")
	host := filepath.Join(top, "host-secret")
	must(t, os.WriteFile(host, []byte("host"), 0o644))
	for _, d := range []string{"etc", "d/sub", "vol-mountpoint"} {
		must(t, os.MkdirAll(filepath.Join(root, d), 0o755))
	}
	must(t, os.WriteFile(filepath.Join(root, "etc/passwd"), []byte("container"), 0o644))
	must(t, os.WriteFile(filepath.Join(root, "d/f"), []byte("f"), 0o600))
	must(t, os.WriteFile(filepath.Join(root, "d/sub/g"), []byte("g"), 0o644))
	must(t, os.Symlink("../etc/passwd", filepath.Join(root, "d/rel")))
	must(t, os.Symlink("/../../../"+host, filepath.Join(root, "etc/evil")))
	must(t, os.Symlink("/../../..", filepath.Join(root, "up")))
	must(t, os.Symlink(host, filepath.Join(root, "abs")))
	return &ctrFS{root: root}, host
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestStatResolvesInsideRoot(t *testing.T) {
	fs, host := testFS(t)
	st, err := fs.stat("/d/rel")
	if err != nil || st.Mode&os.ModeSymlink == 0 || st.LinkTarget != "/etc/passwd" || st.Name != "rel" {
		t.Fatalf("stat /d/rel = %+v, %v; want a symlink to /etc/passwd", st, err)
	}
	// The escaping links dangle inside the root: their targets are named
	// inside the container, never the host's file.
	st, err = fs.stat("/etc/evil")
	if err != nil || st.LinkTarget != host {
		t.Fatalf("stat /etc/evil = %+v, %v; want the dangling in-root target %s", st, err, host)
	}
	if _, err := fs.stat("/etc/evil/"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stat /etc/evil/ = %v, want not found (the host file must not be seen)", err)
	}
	st, err = fs.stat("/up/etc/passwd")
	if err != nil || st.Size != int64(len("container")) {
		t.Errorf("stat /up/etc/passwd = %+v, %v; want the container's passwd", st, err)
	}
	st, err = fs.stat("/d/.")
	if err != nil || !st.Mode.IsDir() || st.Name != "." {
		t.Errorf("stat /d/. = %+v, %v", st, err)
	}
	if _, err := fs.stat("/nope"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stat /nope = %v, want not exist", err)
	}
	err = notFound(os.ErrNotExist, "c1", "/nope")
	if !errors.Is(err, errdefs.ErrNotFound) || err.Error() != "Could not find the file /nope in container c1" {
		t.Errorf("notFound = %q", err)
	}
}

// tarEntries archives p and returns "name type [content]" per entry.
func tarEntries(t *testing.T, fs *ctrFS, p string) ([]string, container.PathStat) {
	t.Helper()
	var buf bytes.Buffer
	var st container.PathStat
	if err := fs.archive(context.Background(), "c1", p, func(s container.PathStat) { st = s }, &buf); err != nil {
		t.Fatalf("archive %s: %v", p, err)
	}
	var out []string
	tr := tar.NewReader(&buf)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out, st
		}
		must(t, err)
		b, _ := io.ReadAll(tr)
		e := hdr.Name + " " + string(hdr.Typeflag)
		if hdr.Linkname != "" {
			e += " -> " + hdr.Linkname
		}
		if len(b) > 0 {
			e += " " + string(b)
		}
		out = append(out, e)
	}
}

func TestArchiveNames(t *testing.T) {
	fs, _ := testFS(t)
	for p, want := range map[string][]string{
		"/d":        {"d/ 5", "d/f 0 f", "d/rel 2 -> ../etc/passwd", "d/sub/ 5", "d/sub/g 0 g"},
		"/d/":       {"d/ 5", "d/f 0 f", "d/rel 2 -> ../etc/passwd", "d/sub/ 5", "d/sub/g 0 g"},
		"/d/.":      {"./ 5", "./f 0 f", "./rel 2 -> ../etc/passwd", "./sub/ 5", "./sub/g 0 g"},
		"/d/f":      {"f 0 f"},
		"/d/rel":    {"rel 2 -> ../etc/passwd"},
		"/etc/evil": {"evil 2 -> /../../../" + mustHost(fs)},
		"/up/etc":   {"etc/ 5", "etc/evil 2 -> /../../../" + mustHost(fs), "etc/passwd 0 container"},
	} {
		got, _ := tarEntries(t, fs, p)
		if !slices.Equal(got, want) {
			t.Errorf("archive %s:\n got %q\nwant %q", p, got, want)
		}
	}
	got, st := tarEntries(t, fs, "/")
	if !st.Mode.IsDir() || len(got) == 0 || got[0] != "/ 5" || !slices.Contains(got, "/etc/passwd 0 container") {
		t.Errorf("archive / = %q (stat %+v): want names under \"/\"", got, st)
	}
}

func mustHost(fs *ctrFS) string { return filepath.Join(filepath.Dir(fs.root), "host-secret") }

func tarOf(t *testing.T, entries ...*tar.Header) io.Reader {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range entries {
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(h.Name))
		}
		h.Uid, h.Gid, h.Mode = os.Getuid(), os.Getgid(), 0o644
		must(t, tw.WriteHeader(h))
		if h.Typeflag == tar.TypeReg {
			_, err := tw.Write([]byte(h.Name))
			must(t, err)
		}
	}
	must(t, tw.Close())
	return &buf
}

func TestExtractStaysInRoot(t *testing.T) {
	fs, host := testFS(t)
	r := tarOf(t,
		&tar.Header{Name: "../../../escape", Typeflag: tar.TypeReg},
		&tar.Header{Name: "/abs-name", Typeflag: tar.TypeReg},
		&tar.Header{Name: "out", Typeflag: tar.TypeSymlink, Linkname: "/"},
		&tar.Header{Name: "out/through", Typeflag: tar.TypeReg},
	)
	// "up" is a symlink to /../../..: the upload lands in the root.
	must(t, fs.extract(context.Background(), "c1", "/up/d", extractOpts{}, r))
	// A link to the host's directory leads to the container's, which
	// does not exist: the file through it fails, and the host's stays.
	r = tarOf(t,
		&tar.Header{Name: "hostlink", Typeflag: tar.TypeSymlink, Linkname: filepath.Dir(host)},
		&tar.Header{Name: "hostlink/host-secret", Typeflag: tar.TypeReg},
	)
	if err := fs.extract(context.Background(), "c1", "/d", extractOpts{}, r); err == nil {
		t.Errorf("extract through a dangling link to a host directory succeeded")
	}
	top := filepath.Dir(fs.root)
	for _, p := range []string{"escape", "abs-name", "through"} {
		if _, err := os.Lstat(filepath.Join(top, p)); err == nil {
			t.Errorf("%s landed outside the root", p)
		}
	}
	if b, _ := os.ReadFile(host); string(b) != "host" {
		t.Errorf("host file overwritten: %q", b)
	}
	for _, p := range []string{"d/escape", "d/abs-name", "through", "d/out"} {
		if _, err := os.Lstat(filepath.Join(fs.root, p)); err != nil {
			t.Errorf("%s not inside the root: %v", p, err)
		}
	}
}

func TestExtractChecks(t *testing.T) {
	fs, _ := testFS(t)
	ctx := context.Background()
	err := fs.extract(ctx, "c1", "/d/f", extractOpts{}, tarOf(t))
	if !errors.Is(err, errdefs.ErrInvalidArgument) || err.Error() != "extraction point is not a directory" {
		t.Errorf("extract into a file: %v", err)
	}
	err = fs.extract(ctx, "c1", "/nope", extractOpts{}, tarOf(t))
	if !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("extract into a missing dir: %v", err)
	}
	err = fs.extract(ctx, "c1", "/d", extractOpts{noOverwrite: true}, tarOf(t, &tar.Header{Name: "sub", Typeflag: tar.TypeReg}))
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte(`cannot overwrite directory "/d/sub" with non-directory "/d"`)) {
		t.Errorf("file over a directory: %v", err)
	}
	fs.rec.HostConfig = &container.HostConfig{ReadonlyRootfs: true}
	fs.mounts = fsMounts([]specs.Mount{{Destination: "/d/sub", Type: "bind", Source: t.TempDir(), Options: []string{"rbind"}}})
	err = fs.extract(ctx, "c1", "/d", extractOpts{}, tarOf(t))
	if !errors.Is(err, errdefs.ErrInvalidArgument) || err.Error() != "container rootfs is marked read-only" {
		t.Errorf("read-only rootfs: %v", err)
	}
	if err := fs.extract(ctx, "c1", "/d/sub", extractOpts{}, tarOf(t, &tar.Header{Name: "v", Typeflag: tar.TypeReg})); err != nil {
		t.Errorf("into a writable volume of a read-only rootfs: %v", err)
	}
	if _, err := os.Stat(filepath.Join(fs.mounts[0].src, "v")); err != nil {
		t.Errorf("the file did not land in the volume's host directory: %v", err)
	}
}

func TestMountsLocate(t *testing.T) {
	vol, file := t.TempDir(), filepath.Join(t.TempDir(), "hostname")
	must(t, os.WriteFile(file, nil, 0o644))
	fs := &ctrFS{root: "/rootfs", mounts: fsMounts([]specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc"},
		{Destination: "/data", Type: "bind", Source: "/elsewhere", Options: []string{"rbind", "ro"}},
		{Destination: "/data", Type: "bind", Source: vol, Options: []string{"rbind"}},
		{Destination: "/etc/hostname", Type: "bind", Source: file, Options: []string{"rbind", "ro"}},
	})}
	for abs, want := range map[string][2]string{
		"/data":          {vol, "/"},
		"/data/.":        {vol, "/."},
		"/data/x/y":      {vol, "/x/y"},
		"/database":      {"/rootfs", "/database"},
		"/etc/hostname":  {filepath.Dir(file), "hostname"},
		"/proc/1/status": {"/rootfs", "/proc/1/status"},
	} {
		if r, rel := fs.locate(abs); r != want[0] || rel != want[1] {
			t.Errorf("locate(%s) = %s, %s; want %v", abs, r, rel, want)
		}
	}
	if err := fs.writable("/data/x"); err != nil {
		t.Errorf("the later /data mount is writable: %v", err)
	}
	if err := fs.writable("/etc/hostname"); err == nil || err.Error() != "mounted volume is marked read-only" {
		t.Errorf("writable(/etc/hostname) = %v", err)
	}
}
