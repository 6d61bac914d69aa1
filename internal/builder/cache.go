package builder

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/pier-engine/pier/internal/atomicfile"
)

// Cache maps a step (its parent image and normalised config) to the image
// it made, as dockerd's classic builder finds a parent's children whose
// container config matches. Each entry is one small file written by
// rename after its image was committed, so a crash leaves either no
// entry or a complete one; an entry whose image is gone is a miss.
type Cache struct {
	dir string
}

// OpenCache opens the cache kept in dir, creating it.
func OpenCache(dir string) (*Cache, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("build cache: %w", err)
	}
	return &Cache{dir: dir}, nil
}

// cacheKey is the digest of the parent image id and the step's config
// (whose Cmd names the instruction and, for COPY and ADD, the content
// hash of the sources).
func cacheKey(parent string, probe v1.Config) string {
	b, _ := json.Marshal(probe)
	h := sha256.New()
	h.Write([]byte(parent))
	h.Write([]byte{0})
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

func (c *Cache) get(key string) string {
	b, err := os.ReadFile(filepath.Join(c.dir, key))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// put records id for key. The record is not fsynced: one lost in a
// crash is a miss, one whose image was lost is a miss too (get's caller
// looks the image up), and two fsyncs a step cost more than the step's
// metadata.
func (c *Cache) put(key, id string) error {
	if err := atomicfile.WriteVolatile(filepath.Join(c.dir, key), []byte(id), 0o600); err != nil {
		return fmt.Errorf("build cache: %w", err)
	}
	return nil
}

// fromDir holds what COPY --from's sources hash to, by fromKey; a dot
// name keeps it out of Entries.
const fromDir = ".from"

func (c *Cache) getFrom(key string) string {
	if key == "" {
		return ""
	}
	return c.get(filepath.Join(fromDir, key))
}

func (c *Cache) putFrom(key, hash string) error {
	if err := os.MkdirAll(filepath.Join(c.dir, fromDir), 0o700); err != nil {
		return fmt.Errorf("build cache: %w", err)
	}
	return c.put(filepath.Join(fromDir, key), hash)
}

// Entry is one cache record: the image a step made.
type Entry struct {
	Key   string
	Image string
}

// Entries lists the cache.
func (c *Cache) Entries() ([]Entry, error) {
	ents, err := os.ReadDir(c.dir)
	if err != nil {
		return nil, fmt.Errorf("build cache: %w", err)
	}
	var out []Entry
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if id := c.get(e.Name()); id != "" {
			out = append(out, Entry{Key: e.Name(), Image: id})
		}
	}
	return out, nil
}

// Prune forgets every entry for which keep is false and returns those.
func (c *Cache) Prune(keep func(Entry) bool) ([]Entry, error) {
	ents, err := c.Entries()
	if err != nil {
		return nil, err
	}
	var gone []Entry
	for _, e := range ents {
		if keep != nil && keep(e) {
			continue
		}
		if err := os.Remove(filepath.Join(c.dir, e.Key)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return gone, fmt.Errorf("build cache: %w", err)
		}
		gone = append(gone, e)
	}
	// The remembered COPY --from hashes go too: they only save a mount,
	// and those of pruned images would otherwise pile up.
	if err := os.RemoveAll(filepath.Join(c.dir, fromDir)); err != nil {
		return gone, fmt.Errorf("build cache: %w", err)
	}
	return gone, nil
}
