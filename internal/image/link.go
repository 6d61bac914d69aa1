package image

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/pier-engine/pier/internal/atomicfile"
	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/snapshot"
	"golang.org/x/sys/unix"
)

// LayerFiles is an image some of whose layers already lie on the store's
// filesystem: the compressed blob as a file, and the layer's files
// unpacked in overlay form (whiteouts as 0/0 character devices, opaque
// directories marked), neither ever changed again. BuildKit's moby
// exporter hands its results over so (internal/buildkitd): its content
// store's blob and the committed overlay snapshot the layer was made in.
// PutImage hard-links both instead of copying the blob and unpacking it,
// and falls back to that when linking is not possible. A layer with files
// but no blob (blob "") is a lazy layer (lazy.go): only its files are
// linked, and the fallback reads its tar from the image.
type LayerFiles interface {
	LayerFiles(digest v1.Hash) (blob, dir string, ok bool)
}

// MissingLayers lists the layers of img whose blob or unpacked files the
// store lacks: those PutImage would write.
func (s *Store) MissingLayers(img v1.Image) ([]v1.Hash, error) {
	m, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	layers, err := recordLayers(m, cfg)
	if err != nil {
		return nil, err
	}
	var out []v1.Hash
	for _, l := range layers {
		if !s.hasLayer(l) {
			out = append(out, l.Digest)
		}
	}
	return out, nil
}

// linkLayer takes layer l from lf's files by hard links. It reports false,
// having written nothing the store would not keep, when lf does not have
// the layer or linking is not possible (another filesystem, an overlay
// feature): the caller then copies and unpacks the blob.
func (s *Store) linkLayer(ctx context.Context, lf LayerFiles, l Layer, parent string) (bool, error) {
	if s.cfg.Unprivileged {
		return false, nil // its layers carry user.overlay.opaque, not trusted.
	}
	blob, dir, ok := lf.LayerFiles(l.Digest)
	if !ok {
		return false, nil
	}
	if blob == "" {
		if !lazyLayer(l) {
			return false, fmt.Errorf("layer %s has files but no blob, and is not an uncompressed layer named by its diff id: %w", l.Digest, errdefs.ErrInvalidArgument)
		}
	} else if !s.blobs.has(l.Digest) {
		if err := s.blobs.link(blob, l.Digest, l.Size); err != nil {
			if errors.Is(err, unix.EXDEV) {
				return false, nil
			}
			return false, fmt.Errorf("link blob: %w", err)
		}
	}
	if s.snaps.Has(l.ChainID) {
		return true, nil
	}
	err := s.snaps.Link(ctx, l.ChainID, parent, dir)
	if errors.Is(err, snapshot.ErrNotLinkable) {
		return false, nil // the blob stays: it is the layer's
	}
	return err == nil, err
}

// link puts the blob file src, which must hash to d and be size bytes
// long, into the store as a hard link: no data is copied. The digest is
// checked (a read from the page cache) before the link takes d's name.
func (c *content) link(src string, d v1.Hash, size int64) error {
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := filepath.Join(c.root, "ingest", "link-"+hex.EncodeToString(rnd[:]))
	if err := os.Link(src, tmp); err != nil {
		return fmt.Errorf("link %s: %w", src, err)
	}
	defer os.Remove(tmp) // a no-op once renamed
	f, err := os.Open(tmp)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() || fi.Size() != size {
		return fmt.Errorf("blob %s: %s is not a regular file of %d bytes: %w", d, src, size, errdefs.ErrInvalidArgument)
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("read %s: %w", src, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != d.Hex {
		return fmt.Errorf("blob %s: %s has digest sha256:%s: %w", d, src, got, errdefs.ErrInvalidArgument)
	}
	// The data is on disk already (containerd's content store syncs a
	// blob before it commits it); the new name must survive a crash.
	if err := os.Rename(tmp, c.path(d)); err != nil {
		return fmt.Errorf("commit blob %s: %w", d, err)
	}
	return atomicfile.SyncDir(filepath.Dir(c.path(d)))
}
