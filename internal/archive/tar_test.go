package archive

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/pier-engine/pier/internal/testutil"
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
		testutil.TarEntry{Name: "bin/tool", Body: "#!x", Mode: 0o755},
		testutil.TarEntry{Name: "bin/alias", Type: '2', Link: "tool"},
		testutil.TarEntry{Name: "bin/hard", Type: '1', Link: "bin/tool"},
		testutil.TarEntry{Name: "etc/conf", Body: "c", Xattrs: map[string]string{"user.pier": "v"}},
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
	meta := testutil.TreeOptions{Meta: true}
	if a, b := testutil.Tree(t, src, meta), testutil.Tree(t, dst, meta); !slices.Equal(a, b) {
		t.Errorf("round trip differs:\n%s\nvs\n%s", strings.Join(a, "\n"), strings.Join(b, "\n"))
	}
	a, _ := os.Stat(filepath.Join(dst, "bin/tool"))
	b, _ := os.Stat(filepath.Join(dst, "bin/hard"))
	if !os.SameFile(a, b) {
		t.Error("hardlink lost in the round trip")
	}
}
