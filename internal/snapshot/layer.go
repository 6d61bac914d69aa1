package snapshot

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pier-engine/pier/internal/atomicfile"
	"github.com/pier-engine/pier/internal/errdefs"
	"golang.org/x/sys/unix"

	"github.com/pier-engine/pier/internal/trace"
)

// Has reports whether the layer chainID is unpacked.
func (s *Store) Has(chainID string) bool {
	k, err := key(chainID)
	if err != nil {
		return false
	}
	_, err = os.Stat(s.path("layers", k, "parent"))
	return err == nil
}

// Unpack creates the layer chainID on top of parent ("" for a base layer):
// fill writes its files into the directory it is given, then the layer is
// flushed to disk and renamed into place. A layer that already exists is
// left alone, and fill is not called. Layers of one image may be unpacked
// in any order and concurrently: the parent need not exist yet.
func (s *Store) Unpack(ctx context.Context, chainID, parent string, fill func(dir string) error) error {
	k, err := key(chainID)
	if err != nil {
		return err
	}
	if s.Has(chainID) {
		return nil
	}
	return s.unpack(ctx, chainID, k, parent, func(dir string) (string, error) { return chainID, fill(dir) })
}

// UnpackNew is Unpack for a layer whose chain id is known only once it
// is written (a layer digested while it is unpacked): fill returns it.
// When a layer of that id exists already, the new one is dropped.
func (s *Store) UnpackNew(ctx context.Context, parent string, fill func(dir string) (chainID string, err error)) error {
	return s.unpack(ctx, "new layer", "new", parent, fill)
}

// unpack fills a temporary directory named after prefix; name is the
// layer in errors.
func (s *Store) unpack(ctx context.Context, name, prefix, parent string, fill func(dir string) (string, error)) error {
	tmp, err := os.MkdirTemp(s.path("tmp"), prefix+"-")
	if err != nil {
		return fmt.Errorf("unpack %s: %w", name, err)
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	fs := filepath.Join(tmp, "fs")
	if err := os.Mkdir(fs, 0o755); err != nil {
		return fmt.Errorf("unpack %s: %w", name, err)
	}
	chainID, err := fill(fs)
	if err != nil {
		return fmt.Errorf("unpack %s: %w", name, err)
	}
	trace.Mark("snapshot", "layer filled")
	k, err := key(chainID)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("unpack %s: %w", chainID, err)
	}
	if s.Has(chainID) {
		return nil
	}
	if err := commit(tmp, s.path("layers", k), parent); err != nil {
		return fmt.Errorf("unpack %s: %w", chainID, err)
	}
	return nil
}

// commit makes the unpacked tmp durable and renames it to final.
func commit(tmp, final, parent string) error {
	if err := flush(tmp); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(tmp, "parent"), []byte(parent), 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, final); err != nil {
		if errors.Is(err, unix.EEXIST) || errors.Is(err, unix.ENOTEMPTY) {
			return nil // unpacked meanwhile by someone else
		}
		return err
	}
	return atomicfile.SyncDir(filepath.Dir(final))
}

// Layers lists the chain ids of all unpacked layers.
func (s *Store) Layers() ([]string, error) {
	ents, err := os.ReadDir(s.path("layers"))
	if err != nil {
		return nil, fmt.Errorf("list layers: %w", err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, "sha256:"+e.Name())
	}
	return out, nil
}

// Parent returns the chain id below chainID, "" for a base layer.
func (s *Store) Parent(chainID string) (string, error) {
	k, err := key(chainID)
	if err != nil {
		return "", err
	}
	p, err := readParent(s.path("layers", k))
	if err != nil {
		return "", fmt.Errorf("layer %s: %w", chainID, err)
	}
	return p, nil
}

// LayerDir is the directory holding the files of layer chainID.
func (s *Store) LayerDir(chainID string) (string, error) {
	k, err := key(chainID)
	if err != nil {
		return "", err
	}
	return s.path("layers", k, "fs"), nil
}

// Chain returns the fs directories of chainID and all layers below it, top
// first, as overlayfs wants its lower directories.
func (s *Store) Chain(chainID string) ([]string, error) {
	var dirs []string
	for id := chainID; id != ""; {
		if len(dirs) > 1000 {
			return nil, fmt.Errorf("layer %s: parent loop: %w", chainID, errdefs.ErrInvalidArgument)
		}
		d, err := s.LayerDir(id)
		if err != nil {
			return nil, err
		}
		if id, err = s.Parent(id); err != nil {
			return nil, err
		}
		dirs = append(dirs, d)
	}
	return dirs, nil
}

// RemoveLayer deletes the layer chainID unless a container or another
// layer uses it (errdefs.ErrConflict).
func (s *Store) RemoveLayer(chainID string) error {
	used, err := s.used()
	if err != nil {
		return err
	}
	if used[chainID] {
		return fmt.Errorf("layer %s: in use: %w", chainID, errdefs.ErrConflict)
	}
	k, err := key(chainID)
	if err != nil {
		return err
	}
	return s.removeLayerDir(k)
}

// removeLayerDir renames the layer away first, so that a crash half-way
// through the deletion never leaves a partial layer under layers/.
func (s *Store) removeLayerDir(k string) error {
	tmp, err := os.MkdirTemp(s.path("tmp"), "rm-")
	if err != nil {
		return fmt.Errorf("remove layer %s: %w", k, err)
	}
	if err := os.Rename(s.path("layers", k), filepath.Join(tmp, k)); err != nil && !errors.Is(err, os.ErrNotExist) {
		os.Remove(tmp)
		return fmt.Errorf("remove layer %s: %w", k, err)
	}
	return os.RemoveAll(tmp)
}

// used maps each chain id some container or layer depends on.
func (s *Store) used() (map[string]bool, error) {
	used := map[string]bool{}
	layers, err := s.Layers()
	if err != nil {
		return nil, err
	}
	for _, l := range layers {
		if p, err := s.Parent(l); err == nil && p != "" {
			used[p] = true
		}
	}
	ents, err := os.ReadDir(s.path("active"))
	if err != nil {
		return nil, fmt.Errorf("list active: %w", err)
	}
	for _, e := range ents {
		p, err := readParent(s.path("active", e.Name()))
		if err == nil && p != "" {
			used[p] = true
		}
	}
	return used, nil
}

// GC removes every layer that keep rejects, unless a container uses it or
// it is below a layer that stays. It returns the chain ids removed.
func (s *Store) GC(keep func(chainID string) bool) ([]string, error) {
	layers, err := s.Layers()
	if err != nil {
		return nil, err
	}
	live := map[string]bool{}
	mark := func(id string) {
		for id != "" && !live[id] {
			live[id] = true
			id, _ = s.Parent(id)
		}
	}
	for _, l := range layers {
		if keep(l) {
			mark(l)
		}
	}
	ents, err := os.ReadDir(s.path("active"))
	if err != nil {
		return nil, fmt.Errorf("list active: %w", err)
	}
	for _, e := range ents {
		if p, err := readParent(s.path("active", e.Name())); err == nil {
			mark(p)
		}
	}
	var removed []string
	for _, l := range layers {
		if live[l] {
			continue
		}
		k, _ := key(l)
		if err := s.removeLayerDir(k); err != nil {
			return removed, err
		}
		removed = append(removed, l)
	}
	return removed, nil
}

// fsyncMax is the most entries a layer may have for flush to fsync each
// one instead of syncing the whole filesystem.
const fsyncMax = 64

// flush makes the files of the unpacked layer in tmp durable. A layer of
// few entries (a build step's) gets an fsync of each: syncfs would also
// write out everything else dirty on the filesystem, a build's context
// and the writable layer the step was copied from included, which costs
// more than the layer itself. A bigger layer gets one syncfs, cheaper
// than an fsync per file.
func flush(tmp string) error {
	var paths []string
	err := filepath.WalkDir(tmp, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if len(paths) > fsyncMax {
			return filepath.SkipAll
		}
		if d.Type().IsRegular() || d.IsDir() {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("flush %s: %w", tmp, err)
	}
	if len(paths) > fsyncMax {
		return syncfs(tmp)
	}
	// Files first, then directories bottom-up, each after its entries.
	slices.SortStableFunc(paths, func(a, b string) int { return strings.Count(b, "/") - strings.Count(a, "/") })
	for _, p := range paths {
		if err := fsync(p); err != nil {
			return err
		}
	}
	return nil
}

func fsync(p string) error {
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", p, err)
	}
	defer unix.Close(fd)
	if err := unix.Fsync(fd); err != nil {
		return fmt.Errorf("fsync %s: %w", p, err)
	}
	return nil
}

func syncfs(dir string) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	defer unix.Close(fd)
	if err := unix.Syncfs(fd); err != nil {
		return fmt.Errorf("syncfs %s: %w", dir, err)
	}
	return nil
}
