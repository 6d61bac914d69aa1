package archive

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/gzip"
)

func gz(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestTarRoundTrip extracts a tree, tars it and extracts it again: the
// second copy must be identical, hardlinks and symlinks included.
func TestTarRoundTrip(t *testing.T) {
	src := t.TempDir()
	if err := extract(t, src, unpriv,
		ent{name: "bin/tool", body: "#!x", mode: 0o755},
		ent{name: "bin/alias", typ: '2', link: "tool"},
		ent{name: "bin/hard", typ: '1', link: "bin/tool"},
		ent{name: "etc/conf", body: "c", xattrs: map[string]string{"user.pier": "v"}},
	); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Tar(&buf, src); err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	if err := Extract(context.Background(), &buf, dst, unpriv); err != nil {
		t.Fatal(err)
	}
	if a, b := tree(t, src, ""), tree(t, dst, ""); a != b {
		t.Errorf("round trip differs:\n%s\nvs\n%s", a, b)
	}
	a, _ := os.Stat(filepath.Join(dst, "bin/tool"))
	b, _ := os.Stat(filepath.Join(dst, "bin/hard"))
	if !os.SameFile(a, b) {
		t.Error("hardlink lost in the round trip")
	}
}
