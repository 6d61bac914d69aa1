package testutil

import (
	"archive/tar"
	"bytes"
	"io"
	"testing"
)

func TestTarHeaders(t *testing.T) {
	b := Tar(t,
		TarEntry{Name: "f", Body: "hello", Xattrs: map[string]string{"user.a": "v"}},
		TarEntry{Name: "d/", Type: tar.TypeDir},
		TarEntry{Name: "s", Type: tar.TypeSymlink, Link: "f"},
		TarEntry{Name: "null", Type: tar.TypeChar, Major: 1, Minor: 3, Mode: 0o666},
	)
	tr := tar.NewReader(bytes.NewReader(b))
	want := []struct {
		name        string
		typ         byte
		mode, size  int64
		major, body string
	}{
		{"f", tar.TypeReg, 0o644, 5, "", "hello"},
		{"d/", tar.TypeDir, 0o755, 0, "", ""},
		{"s", tar.TypeSymlink, 0o644, 0, "", ""},
		{"null", tar.TypeChar, 0o666, 0, "1:3", ""},
	}
	for _, w := range want {
		h, err := tr.Next()
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		if h.Name != w.name || h.Typeflag != w.typ || h.Mode != w.mode || h.Size != w.size ||
			string(body) != w.body || !h.ModTime.Equal(TarTime) {
			t.Errorf("entry %q: got %+v body %q", w.name, h, body)
		}
		if w.major != "" && (h.Devmajor != 1 || h.Devminor != 3) {
			t.Errorf("%s: device %d:%d, want %s", h.Name, h.Devmajor, h.Devminor, w.major)
		}
		if h.Name == "f" && h.PAXRecords["SCHILY.xattr.user.a"] != "v" {
			t.Errorf("xattr lost: %v", h.PAXRecords)
		}
	}
	if _, err := tr.Next(); err != io.EOF {
		t.Errorf("after the last entry: %v", err)
	}
}
