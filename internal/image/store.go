package image

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/pier-engine/pier/internal/atomicfile"
	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/snapshot"
)

// Config configures a Store.
type Config struct {
	// Root is the store's directory, e.g. /var/lib/pier/image.
	Root string
	// AuthFile is a Docker-style config.json with registry credentials
	// ("" for anonymous access only).
	AuthFile string
	// Insecure lists registries (host[:port]) reached over plain HTTP;
	// localhost and 127.0.0.0/8 always are.
	Insecure []string
	// Platform selects from manifest lists; linux/amd64 when empty.
	Platform string
	// Jobs is how many layers are downloaded at once (default 3).
	Jobs int
	// Unprivileged unpacks layers without root (tests): owners, device
	// nodes and trusted xattrs are dropped.
	Unprivileged bool
}

// Store holds images. Its methods are safe for concurrent use.
type Store struct {
	cfg   Config
	blobs *content
	snaps *snapshot.Store

	// mu serialises changes to image records and the index.
	mu sync.Mutex
	// writers is read-locked by every pull, load and import while it adds
	// blobs and snapshots no record names yet; GC runs only when it can
	// take it, so it never deletes them from under a writer.
	writers sync.RWMutex
}

// Layer is one layer of an image.
type Layer struct {
	Digest    v1.Hash `json:"digest"`  // of the blob, as in the manifest
	DiffID    v1.Hash `json:"diff_id"` // of the uncompressed tar
	ChainID   string  `json:"chain_id"`
	MediaType string  `json:"media_type"`
	Size      int64   `json:"size"`
}

// Image is an image record. RepoTags and RepoDigests come from the index.
type Image struct {
	ID          string    `json:"id"`       // config digest: what docker images shows
	Manifest    v1.Hash   `json:"manifest"` // the manifest blob
	Layers      []Layer   `json:"layers"`
	Created     time.Time `json:"created"`
	Size        int64     `json:"size"` // sum of compressed layer sizes
	RepoTags    []string  `json:"-"`
	RepoDigests []string  `json:"-"`
}

// TopChainID is the chain id a container's rootfs is made from ("" for an
// image without layers).
func (img *Image) TopChainID() string {
	if len(img.Layers) == 0 {
		return ""
	}
	return img.Layers[len(img.Layers)-1].ChainID
}

// New opens the store at cfg.Root, creating it, and removes what
// interrupted writes left behind.
func New(cfg Config) (*Store, error) {
	if cfg.Jobs <= 0 {
		cfg.Jobs = 3
	}
	if err := os.RemoveAll(filepath.Join(cfg.Root, "ingest")); err != nil {
		return nil, fmt.Errorf("clean ingest: %w", err)
	}
	for _, d := range []string{"blobs/sha256", "ingest", "images"} {
		if err := os.MkdirAll(filepath.Join(cfg.Root, d), 0o700); err != nil {
			return nil, fmt.Errorf("image store: %w", err)
		}
	}
	snaps, err := snapshot.New(filepath.Join(cfg.Root, "snapshots"))
	if err != nil {
		return nil, err
	}
	return &Store{cfg: cfg, blobs: &content{root: cfg.Root}, snaps: snaps}, nil
}

// Snapshots is the store of unpacked layers, where containers get their
// rootfs: Prepare(id, img.TopChainID()) then Mount.
func (s *Store) Snapshots() *snapshot.Store { return s.snaps }

func (s *Store) recordPath(id string) (string, error) {
	h, err := v1.NewHash(id)
	if err != nil {
		return "", fmt.Errorf("image id %q: %w", id, errdefs.ErrInvalidArgument)
	}
	return filepath.Join(s.cfg.Root, "images", h.Hex+".json"), nil
}

// writeJSON writes v to path atomically (atomicfile), 0600: the auth file
// holds credentials and the records need no wider access.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return atomicfile.WriteFile(path, b, 0o600)
}

func (s *Store) readRecord(id string) (*Image, error) {
	p, err := s.recordPath(id)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, errdefs.Newf(errdefs.ErrNotFound, "No such image: %s", id)
	}
	if err != nil {
		return nil, err
	}
	var img Image
	if err := json.Unmarshal(b, &img); err != nil {
		return nil, fmt.Errorf("image %s: %w", id, err)
	}
	return &img, nil
}

// records lists every image record.
func (s *Store) records() ([]*Image, error) {
	ents, err := os.ReadDir(filepath.Join(s.cfg.Root, "images"))
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	var out []*Image
	for _, e := range ents {
		hex, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || strings.HasPrefix(hex, ".") {
			continue
		}
		img, err := s.readRecord("sha256:" + hex)
		if err != nil {
			return nil, err
		}
		out = append(out, img)
	}
	return out, nil
}
