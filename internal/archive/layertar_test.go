package archive

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func layerTarSum(t *testing.T, dir string) ([32]byte, []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := LayerTar(&buf, dir); err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(buf.Bytes()), buf.Bytes()
}

// TestLayerTarSameOverLinks: a copy of a layer made of hard links, with
// its directories remade with the same times (what snapshot.Link does),
// gives the same bytes, hard links within the layer included; an empty
// layer is an empty tar.
func TestLayerTarSameOverLinks(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	writeTree(t, src, "app/big", "app/sub/x", "top")
	if err := os.Link(filepath.Join(src, "app/big"), filepath.Join(src, "app/big2")); err != nil {
		t.Fatal(err)
	}
	when := time.Unix(1700000000, 123456789)
	for _, d := range []string{"app/sub", "app"} {
		if err := os.Chtimes(filepath.Join(src, d), when, when); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"app", "app/sub"} {
		if err := os.Mkdir(filepath.Join(dst, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"app/big", "app/big2", "app/sub/x", "top"} {
		if err := os.Link(filepath.Join(src, f), filepath.Join(dst, f)); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"app/sub", "app"} {
		if err := os.Chtimes(filepath.Join(dst, d), when, when); err != nil {
			t.Fatal(err)
		}
	}
	a, raw := layerTarSum(t, src)
	if b, _ := layerTarSum(t, dst); a != b {
		t.Fatal("the linked copy's tar differs from the source's")
	}
	// Once the source is gone the files have one link left: same bytes.
	if err := os.RemoveAll(src); err != nil {
		t.Fatal(err)
	}
	if b, _ := layerTarSum(t, dst); a != b {
		t.Fatal("the tar changed when the source's links went")
	}
	links := 0
	tr := tar.NewReader(bytes.NewReader(raw))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Typeflag == tar.TypeLink {
			links++
		}
	}
	if links != 1 {
		t.Errorf("%d hard link entries, want 1", links)
	}

	_, empty := layerTarSum(t, t.TempDir())
	if len(empty) != 1024 || !bytes.Equal(empty, make([]byte, 1024)) {
		t.Errorf("empty layer: %d bytes, want an empty tar (1024 zero bytes)", len(empty))
	}
}
