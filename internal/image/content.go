package image

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/pier-engine/pier/internal/atomicfile"
	"github.com/pier-engine/pier/internal/errdefs"
)

// content is the blob store: files named by the sha256 of their bytes.
type content struct {
	root string
}

func (c *content) path(d v1.Hash) string {
	return filepath.Join(c.root, "blobs", "sha256", d.Hex)
}

func (c *content) has(d v1.Hash) bool {
	_, err := os.Stat(c.path(d))
	return err == nil
}

func (c *content) open(d v1.Hash) (*os.File, error) {
	f, err := os.Open(c.path(d))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("blob %s: %w", d, errdefs.ErrNotFound)
	}
	return f, err
}

func (c *content) read(d v1.Hash) ([]byte, error) {
	f, err := c.open(d)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// put stores b, which must hash to d (when d is set), and returns its digest.
// A blob the store has is not written again (a rebuild's manifest and
// config): that would cost two fsyncs for nothing.
func (c *content) put(b []byte, d v1.Hash) (v1.Hash, error) {
	sum := sha256.Sum256(b)
	if got := (v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}); (d.Hex == "" || got == d) && c.has(got) {
		return got, nil
	}
	w, err := c.writer()
	if err != nil {
		return v1.Hash{}, err
	}
	defer w.discard()
	if _, err := w.Write(b); err != nil {
		return v1.Hash{}, err
	}
	return w.commit(d, int64(len(b)))
}

// blobWriter hashes what it writes into an ingest file; commit renames it
// into the store once the digest is proven.
type blobWriter struct {
	c *content
	f *os.File
	h hash.Hash
	n int64
}

func (c *content) writer() (*blobWriter, error) {
	f, err := os.CreateTemp(filepath.Join(c.root, "ingest"), "blob-")
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	return &blobWriter{c: c, f: f, h: sha256.New()}, nil
}

func (w *blobWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.h.Write(p[:n])
	w.n += int64(n)
	return n, err
}

func (w *blobWriter) digest() v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(w.h.Sum(nil))}
}

// commit checks the digest (when want is set) and size (when >= 0),
// flushes the file and renames it into place. The writer is spent after.
func (w *blobWriter) commit(want v1.Hash, size int64) (v1.Hash, error) {
	got := w.digest()
	if want.Hex != "" && got != want {
		return got, fmt.Errorf("digest mismatch: got %s, want %s: %w", got, want, errdefs.ErrInvalidArgument)
	}
	if size >= 0 && size != w.n {
		return got, fmt.Errorf("blob %s: size %d, want %d: %w", got, w.n, size, errdefs.ErrInvalidArgument)
	}
	if err := w.f.Sync(); err != nil {
		return got, fmt.Errorf("fsync blob %s: %w", got, err)
	}
	if err := w.f.Close(); err != nil {
		return got, err
	}
	if err := os.Rename(w.f.Name(), w.c.path(got)); err != nil {
		return got, fmt.Errorf("commit blob %s: %w", got, err)
	}
	// The blob is streamed in, so atomicfile.Write does not fit; its
	// directory sync does: the rename must survive a crash as well.
	return got, atomicfile.SyncDir(filepath.Dir(w.c.path(got)))
}

// discard drops an uncommitted writer; after commit it does nothing.
func (w *blobWriter) discard() {
	w.f.Close()
	os.Remove(w.f.Name())
}

// blobs lists the digests in the store.
func (c *content) blobs() ([]v1.Hash, error) {
	ents, err := os.ReadDir(filepath.Join(c.root, "blobs", "sha256"))
	if err != nil {
		return nil, fmt.Errorf("list blobs: %w", err)
	}
	var out []v1.Hash
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), ".") {
			out = append(out, v1.Hash{Algorithm: "sha256", Hex: e.Name()})
		}
	}
	return out, nil
}
