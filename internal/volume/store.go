package volume

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/metadata"
)

const (
	kind        = "volumes"
	newPrefix   = ".new-"
	trashPrefix = ".trash-"
)

// Store keeps the volumes under one root. It is safe for concurrent use.
type Store struct {
	dir string // <root>/volumes
	md  *metadata.Store

	// mu makes each Create, Remove and Prune one step as seen by the others
	// and by readers, which never see a record without its directory.
	mu sync.RWMutex
}

// New opens the volumes under root, whose records live in md, and repairs
// what a crash interrupted (see the package doc).
func New(root string, md *metadata.Store) (*Store, error) {
	dir := filepath.Join(root, "volumes")
	// 0701: others may reach a volume's data by its path (containers with
	// user namespaces) but not list the volumes.
	if err := os.MkdirAll(dir, 0o701); err != nil {
		return nil, fmt.Errorf("volume store %s: %w", dir, err)
	}
	s := &Store{dir: dir, md: md}
	if err := s.repair(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Store) repair() error {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("volume store %s: %w", s.dir, err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), newPrefix) || strings.HasPrefix(e.Name(), trashPrefix) {
			p := filepath.Join(s.dir, e.Name())
			if err := os.RemoveAll(p); err != nil {
				return fmt.Errorf("remove interrupted %s: %w", p, err)
			}
		}
	}
	names, err := s.md.List(kind)
	if err != nil {
		return err
	}
	for _, name := range names {
		_, err := os.Lstat(filepath.Join(s.dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			// A Create that never renamed its directory, or a Remove that
			// had already moved it to the trash.
			if err := s.md.Delete(kind, name); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
				return err
			}
		}
	}
	return nil
}

func (s *Store) volume(r *record) *Volume {
	return &Volume{
		Name:       r.Name,
		Driver:     r.Driver,
		Mountpoint: filepath.Join(s.dir, r.Name, "_data"),
		CreatedAt:  r.CreatedAt,
		Labels:     r.Labels,
		Options:    r.Options,
		Scope:      ScopeLocal,
	}
}

// Create makes a local volume. An empty name gets 64 random hex digits.
// Creating a name that exists returns the existing volume, as Docker does.
// Driver options are refused, each named in the error.
func (s *Store) Create(name string, labels, opts map[string]string) (*Volume, error) {
	if name == "" {
		name = randomName()
	}
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	if err := checkOptions(opts); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, err := s.get(name); err == nil {
		return v, nil
	} else if !errors.Is(err, errdefs.ErrNotFound) {
		return nil, err
	}
	r := &record{Name: name, Driver: DriverLocal, CreatedAt: time.Now().UTC().Truncate(time.Second), Labels: labels}
	if err := s.create(r); err != nil {
		return nil, fmt.Errorf("create volume %s: %w", name, err)
	}
	return s.volume(r), nil
}

// create follows the order the package doc draws: a crash at any step
// leaves nothing New would not remove.
func (s *Store) create(r *record) (err error) {
	tmp, err := os.MkdirTemp(s.dir, newPrefix)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if err := os.Mkdir(filepath.Join(tmp, "_data"), 0o755); err != nil {
		return err
	}
	// The umask may have narrowed the mode; Docker's _data is 0755.
	if err := os.Chmod(filepath.Join(tmp, "_data"), 0o755); err != nil {
		return err
	}
	if err := s.md.Create(kind, r.Name, r); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(s.dir, r.Name)); err != nil {
		s.md.Delete(kind, r.Name) // the rename error is the one to report
		return err
	}
	return nil
}

// Get returns the volume called name, or an error wrapping
// errdefs.ErrNotFound.
func (s *Store) Get(name string) (*Volume, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.get(name)
}

func (s *Store) get(name string) (*Volume, error) {
	if ValidateName(name) != nil {
		return nil, fmt.Errorf("no such volume: %s: %w", name, errdefs.ErrNotFound)
	}
	var r record
	if err := s.md.Get(kind, name, &r); errors.Is(err, errdefs.ErrNotFound) {
		return nil, fmt.Errorf("no such volume: %s: %w", name, errdefs.ErrNotFound)
	} else if err != nil {
		return nil, err
	}
	return s.volume(&r), nil
}

// all returns every volume, by name. The caller holds mu.
func (s *Store) all() ([]*Volume, error) {
	names, err := s.md.List(kind)
	if err != nil {
		return nil, err
	}
	vols := make([]*Volume, 0, len(names))
	for _, name := range names {
		v, err := s.get(name)
		if errors.Is(err, errdefs.ErrNotFound) {
			continue // not a volume name: a stray file in the store
		}
		if err != nil {
			return nil, err
		}
		vols = append(vols, v)
	}
	return vols, nil
}

// Remove deletes the volume and its data. A volume inUse is refused with
// errdefs.ErrConflict, even with force; force only makes a missing volume
// not an error, as in Docker. inUse may be nil (nothing is in use).
func (s *Store) Remove(name string, force bool, inUse func(name string) bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.get(name); err != nil {
		if force && errors.Is(err, errdefs.ErrNotFound) {
			return nil
		}
		return err
	}
	if inUse != nil && inUse(name) {
		return fmt.Errorf("remove volume %s: volume is in use: %w", name, errdefs.ErrConflict)
	}
	return s.remove(name)
}

// remove never follows a symbolic link: os.RemoveAll unlinks links and
// opens directories with O_NOFOLLOW, so a link a container planted in its
// volume pointing outside is deleted, not its target.
func (s *Store) remove(name string) error {
	trash, err := os.MkdirTemp(s.dir, trashPrefix)
	if err != nil {
		return fmt.Errorf("remove volume %s: %w", name, err)
	}
	moved := filepath.Join(trash, name)
	err = os.Rename(filepath.Join(s.dir, name), moved)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		os.Remove(trash)
		return fmt.Errorf("remove volume %s: %w", name, err)
	}
	if err := s.md.Delete(kind, name); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
		os.Rename(moved, filepath.Join(s.dir, name)) // put it back: the volume stays whole
		os.Remove(trash)
		return fmt.Errorf("remove volume %s: %w", name, err)
	}
	if err := os.RemoveAll(trash); err != nil {
		return fmt.Errorf("remove volume %s data: %w", name, err)
	}
	return nil
}
