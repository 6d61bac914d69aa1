package cli

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/pier-engine/pier/internal/testutil"
)

func TestSplitCpArg(t *testing.T) {
	for in, want := range map[string][2]string{
		"c1:/etc": {"c1", "/etc"}, "/tmp/a:b": {"", "/tmp/a:b"}, "./a:b": {"", "./a:b"},
		"file": {"", "file"}, "c1:": {"c1", ""}, "c1:rel/p": {"c1", "rel/p"},
	} {
		if ctr, p := splitCpArg(in); ctr != want[0] || p != want[1] {
			t.Errorf("splitCpArg(%q) = %q, %q; want %v", in, ctr, p, want)
		}
	}
}

func TestArchiveBase(t *testing.T) {
	for in, want := range map[string]string{
		"/etc": "etc", "/etc/": "etc", "/etc/.": ".", "/": "", "etc/passwd": "passwd", "/a/./": ".",
	} {
		if got := archiveBase(in); got != want {
			t.Errorf("archiveBase(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPlace(t *testing.T) {
	type tc struct {
		srcDir, contents bool
		dst              string
		exists, dstDir   bool
		want             placement
		err              string
	}
	for _, c := range []tc{
		{false, false, "/out", true, true, placement{"/out", "src"}, ""},
		{true, false, "/out", true, true, placement{"/out", "src"}, ""},
		{true, true, "/out", true, true, placement{"/out", ""}, ""},
		{false, false, "/out/f", true, false, placement{"/out", "f"}, ""},
		{true, false, "/out/f", true, false, placement{}, "cannot copy directory"},
		{false, false, "/out/new/", false, false, placement{}, "no such directory"},
		{true, false, "/out/new/", false, false, placement{"/out", "new"}, ""},
		{true, true, "/out/new", false, false, placement{"/out", "new"}, ""},
		{false, false, "new", false, false, placement{"/", "new"}, ""},
	} {
		got, err := place(c.srcDir, c.contents, "src", c.dst, c.exists, c.dstDir)
		if got != c.want || (err == nil) != (c.err == "") || (err != nil && err.Error() != c.err) {
			t.Errorf("place(%+v) = %+v, %v", c, got, err)
		}
	}
}

func TestRebaseName(t *testing.T) {
	for _, c := range [][4]string{
		{"d/", "d", "new", "new/"}, {"d/x", "d", "new", "new/x"}, {"./x", ".", "", "x"},
		{"/", "", "", ""}, {"/bin/", "", "", "bin/"}, {"/bin", "", "root", "root/bin"},
		{"dd/x", "d", "new", "dd/x"}, {"f", "f", "g", "g"},
	} {
		if got := rebaseName(c[0], c[1], c[2]); got != c[3] {
			t.Errorf("rebaseName(%q, %q, %q) = %q, want %q", c[0], c[1], c[2], got, c[3])
		}
	}
}

func TestLocalTarRebase(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "src/sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "src/sub/f"), []byte("data"), 0o644)
	os.Symlink("/etc/passwd", filepath.Join(dir, "src/link"))
	var buf bytes.Buffer
	var n int64
	if err := writeLocalTar(&buf, filepath.Join(dir, "src"), "src", &n); err != nil || n != 4 {
		t.Fatalf("writeLocalTar: %v, %d bytes", err, n)
	}
	var names []string
	for _, hdr := range testutil.TarHeaders(t, rebase(&buf, "src", "dst", func(*tar.Header) error { return nil })) {
		names = append(names, hdr.Name+" "+hdr.Linkname)
	}
	want := []string{"dst/ ", "dst/link /etc/passwd", "dst/sub/ ", "dst/sub/f "}
	if !slices.Equal(names, want) {
		t.Errorf("names = %q, want %q", names, want)
	}
}

func TestLinkInside(t *testing.T) {
	for _, c := range []struct {
		name, link string
		ok         bool
	}{
		{"d/l", "f", true}, {"d/l", "../f", true}, {"d/l", "/etc/passwd", true},
		{"d/l", "../../f", false}, {"l", "/../../../etc/passwd", false}, {"l", "..", false},
	} {
		err := linkInside("/out", &tar.Header{Name: c.name, Linkname: c.link, Typeflag: tar.TypeSymlink})
		if (err == nil) != c.ok {
			t.Errorf("linkInside(%s -> %s) = %v", c.name, c.link, err)
		}
	}
}
