package snapshot

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pier-engine/pier/internal/atomicfile"
	"github.com/pier-engine/pier/internal/errdefs"
)

// Prepare creates the writable layer of container id on top of the layer
// chainID ("" for an empty image), durably. Mount then makes its rootfs.
func (s *Store) Prepare(id, chainID string) error { return s.prepare(id, chainID, true) }

// PrepareOrdered is Prepare for a caller whose own record, written after
// it, is what makes the layer count (a container's create): the parent
// file's data reaches the disk before the layer's rename and nothing else
// is waited for. After a host crash the layer is whole or absent (left in
// tmp, which Open empties), and the journal commits it before the
// caller's record.
func (s *Store) PrepareOrdered(id, chainID string) error { return s.prepare(id, chainID, false) }

func (s *Store) prepare(id, chainID string, durable bool) error {
	k, err := key(id)
	if err != nil {
		return err
	}
	if chainID != "" && !s.Has(chainID) {
		return fmt.Errorf("prepare %s: layer %s: %w", id, chainID, errdefs.ErrNotFound)
	}
	dir := s.path("active", k)
	if _, err := os.Stat(dir); err == nil {
		return fmt.Errorf("prepare %s: %w", id, errdefs.ErrAlreadyExists)
	}
	tmp, err := os.MkdirTemp(s.path("tmp"), "active-")
	if err != nil {
		return fmt.Errorf("prepare %s: %w", id, err)
	}
	defer os.RemoveAll(tmp)
	for _, d := range []string{"upper", "work"} {
		if err := os.Mkdir(filepath.Join(tmp, d), 0o755); err != nil {
			return fmt.Errorf("prepare %s: %w", id, err)
		}
	}
	write := atomicfile.WriteFile
	if !durable {
		write = atomicfile.WriteOrdered
	}
	if err := write(filepath.Join(tmp, "parent"), []byte(chainID), 0o600); err != nil {
		return fmt.Errorf("prepare %s: %w", id, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("prepare %s: %w", id, err)
	}
	if !durable {
		return nil
	}
	return atomicfile.SyncDir(filepath.Dir(dir))
}

// UpperDir is the writable layer of container id: what docker diff and
// docker commit look at.
func (s *Store) UpperDir(id string) (string, error) {
	k, err := key(id)
	if err != nil {
		return "", err
	}
	return s.path("active", k, "upper"), nil
}

// Remove deletes the writable layer of container id; its rootfs must be
// unmounted. Removing what does not exist is not an error.
func (s *Store) Remove(id string) error {
	trash, err := s.Unlink(id)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(trash); err != nil {
		return fmt.Errorf("remove %s: %w", id, err)
	}
	return nil
}

// Unlink is Remove's first half: it takes container id's writable layer
// out of the store with one rename (the layer below is no longer in use
// when it returns) and returns the directory it now sits in, for the
// caller to delete, at leisure. What a crash leaves there goes with the
// store's tmp directory at the next Open.
func (s *Store) Unlink(id string) (trash string, err error) {
	k, err := key(id)
	if err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(s.path("tmp"), "rm-")
	if err != nil {
		return "", fmt.Errorf("remove %s: %w", id, err)
	}
	if err := os.Rename(s.path("active", k), filepath.Join(tmp, k)); err != nil && !errors.Is(err, os.ErrNotExist) {
		os.Remove(tmp)
		return "", fmt.Errorf("remove %s: %w", id, err)
	}
	return tmp, nil
}

// Active lists the containers that have a writable layer.
func (s *Store) Active() ([]string, error) {
	ents, err := os.ReadDir(s.path("active"))
	if err != nil {
		return nil, fmt.Errorf("list active: %w", err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out, nil
}
