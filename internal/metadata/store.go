// Package metadata keeps the daemon's records (containers, volumes,
// networks) as JSON files that survive a crash or a kill -9 at any point.
//
// Layout: <dir>/<kind>/<id>.json. Every write goes to a temporary file in
// the same directory, is fsynced, renamed over the record and followed by an
// fsync of the directory, so a reader, or the daemon after a crash, sees
// either the old record or the new one, never a mix. Temporary files are
// named ".tmp-*"; Open removes any a crash left behind.
//
// Lifecycle: Open once per daemon; the Store is safe for concurrent use.
// Put, Create, Update and Delete of one record are serialised by a lock
// keyed on (kind, id); Get and List take no lock, which rename makes safe.
package metadata

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/pier-engine/pier/internal/atomicfile"
	"github.com/pier-engine/pier/internal/errdefs"
)

// MaxIDLen bounds kinds and ids so that "<id>.json" and its temporary
// name always fit in a file name (255 bytes).
const MaxIDLen = 200

const (
	tmpPrefix = atomicfile.TempPrefix
	ext       = ".json"
)

// Store is a directory of JSON records grouped by kind.
type Store struct {
	dir string
	// locks serialise writers of one record; a fixed set of stripes keeps
	// the memory bounded however many ids the daemon sees.
	locks [64]sync.Mutex
}

// Open opens (creating it if needed) the store rooted at dir and removes the
// temporary files an interrupted write left behind.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("metadata open %s: %w", dir, err)
	}
	s := &Store{dir: dir}
	if err := s.removeTemps(); err != nil {
		return nil, err
	}
	return s, nil
}

// Dir returns the directory the store lives in.
func (s *Store) Dir() string { return s.dir }

func (s *Store) removeTemps() error {
	kinds, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("metadata open %s: %w", s.dir, err)
	}
	for _, k := range kinds {
		if !k.IsDir() {
			continue
		}
		kdir := filepath.Join(s.dir, k.Name())
		entries, err := os.ReadDir(kdir)
		if err != nil {
			return fmt.Errorf("metadata scan %s: %w", kdir, err)
		}
		for _, e := range entries {
			if !strings.HasPrefix(e.Name(), tmpPrefix) {
				continue
			}
			p := filepath.Join(kdir, e.Name())
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("metadata remove leftover %s: %w", p, err)
			}
		}
	}
	return nil
}

// ValidateID reports whether s may name a kind or a record: not empty, at
// most MaxIDLen bytes, no "/" or NUL, and no leading "." (which also rules
// out "." and ".." and keeps ids apart from temporary files).
func ValidateID(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("metadata id is empty: %w", errdefs.ErrInvalidArgument)
	case len(s) > MaxIDLen:
		return fmt.Errorf("metadata id %.20q...: longer than %d bytes: %w", s, MaxIDLen, errdefs.ErrInvalidArgument)
	case strings.HasPrefix(s, "."):
		return fmt.Errorf("metadata id %q starts with a dot: %w", s, errdefs.ErrInvalidArgument)
	case strings.ContainsAny(s, "/\x00"):
		return fmt.Errorf("metadata id %q contains / or NUL: %w", s, errdefs.ErrInvalidArgument)
	}
	return nil
}

func (s *Store) path(kind, id string) (string, error) {
	if err := ValidateID(kind); err != nil {
		return "", fmt.Errorf("kind: %w", err)
	}
	if err := ValidateID(id); err != nil {
		return "", err
	}
	return filepath.Join(s.dir, kind, id+ext), nil
}

func (s *Store) lock(kind, id string) *sync.Mutex {
	h := fnv.New32a()
	h.Write([]byte(kind))
	h.Write([]byte{0})
	h.Write([]byte(id))
	return &s.locks[h.Sum32()%uint32(len(s.locks))]
}

// Stat describes the file of record kind/id, whose every write is a new
// file (a rename): a caller that keeps what it decoded from a record can
// tell from it, without reading the record, whether it changed. A
// missing record is ErrNotFound.
func (s *Store) Stat(kind, id string) (os.FileInfo, error) {
	p, err := s.path(kind, id)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s %s: %w", kind, id, errdefs.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", p, err)
	}
	return fi, nil
}

// Get reads the record kind/id into v. It returns an error wrapping
// errdefs.ErrNotFound when there is no such record.
func (s *Store) Get(kind, id string, v any) error {
	p, err := s.path(kind, id)
	if err != nil {
		return err
	}
	return get(p, kind, id, v)
}

func get(p, kind, id string, v any) error {
	_, err := read(p, kind, id, v)
	return err
}

// read is get that also returns the record's bytes.
func read(p, kind, id string, v any) ([]byte, error) {
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s %s: %w", kind, id, errdefs.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return nil, fmt.Errorf("decode %s: %w", p, err)
	}
	return data, nil
}

// Put writes v as the record kind/id, replacing any previous one atomically.
func (s *Store) Put(kind, id string, v any) error {
	p, err := s.path(kind, id)
	if err != nil {
		return err
	}
	mu := s.lock(kind, id)
	mu.Lock()
	defer mu.Unlock()
	return s.write(p, v)
}

// Create writes v as the record kind/id unless one exists already, in which
// case it returns an error wrapping errdefs.ErrAlreadyExists.
func (s *Store) Create(kind, id string, v any) error {
	return s.create(kind, id, v, true)
}

// CreateOrdered is Create whose record's data reaches the disk before its
// rename, which is not waited for (dockerd's durability for a container's
// config): a kill -9 loses nothing, and after a host crash the record is
// whole or absent.
func (s *Store) CreateOrdered(kind, id string, v any) error {
	return s.create(kind, id, v, false)
}

func (s *Store) create(kind, id string, v any, durable bool) error {
	p, err := s.path(kind, id)
	if err != nil {
		return err
	}
	mu := s.lock(kind, id)
	mu.Lock()
	defer mu.Unlock()
	if _, err := os.Lstat(p); err == nil {
		return fmt.Errorf("%s %s: %w", kind, id, errdefs.ErrAlreadyExists)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("stat %s: %w", p, err)
	}
	if !durable {
		data, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("encode %s: %w", p, err)
		}
		if err := s.ensureKindDir(filepath.Dir(p)); err != nil {
			return err
		}
		return atomicfile.WriteOrdered(p, data, 0o600)
	}
	return s.write(p, v)
}

// Update reads the record kind/id into v, calls fn (which changes v) and
// writes v back, all under the record's lock, so concurrent Updates of one
// record never lose each other's changes. If fn returns an error nothing is
// written and that error is returned; if fn left the record as it was,
// nothing is written either (a write is a new file, two fsyncs and a
// freed inode). A missing record is ErrNotFound.
func (s *Store) Update(kind, id string, v any, fn func() error) error {
	return s.update(kind, id, v, fn, true)
}

// UpdateOrdered is Update for a change that a restart can do without (a
// container's start, which a host crash undoes anyway): the record's data
// reaches the disk before its rename, which is not waited for, so after
// a host crash the record is the one before or this one, whole.
func (s *Store) UpdateOrdered(kind, id string, v any, fn func() error) error {
	return s.update(kind, id, v, fn, false)
}

func (s *Store) update(kind, id string, v any, fn func() error, durable bool) error {
	p, err := s.path(kind, id)
	if err != nil {
		return err
	}
	mu := s.lock(kind, id)
	mu.Lock()
	defer mu.Unlock()
	old, err := read(p, kind, id, v)
	if err != nil {
		return err
	}
	if err := fn(); err != nil {
		return err
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", p, err)
	}
	if bytes.Equal(data, old) {
		return nil
	}
	if !durable {
		return atomicfile.WriteOrdered(p, data, 0o600)
	}
	return s.writeData(p, data)
}

// Delete removes the record kind/id; a missing record is ErrNotFound.
func (s *Store) Delete(kind, id string) error { return s.delete(kind, id, true) }

// DeleteLazy is Delete for a record whose return after a host crash is
// harmless (its owner's removal is completed, or nothing reads it): the
// directory is not synced, the unlink reaches the disk with the file
// system's next commit.
func (s *Store) DeleteLazy(kind, id string) error { return s.delete(kind, id, false) }

func (s *Store) delete(kind, id string, durable bool) error {
	p, err := s.path(kind, id)
	if err != nil {
		return err
	}
	mu := s.lock(kind, id)
	mu.Lock()
	defer mu.Unlock()
	if err := os.Remove(p); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s %s: %w", kind, id, errdefs.ErrNotFound)
	} else if err != nil {
		return fmt.Errorf("delete %s: %w", p, err)
	}
	if !durable {
		return nil
	}
	return syncDir(filepath.Dir(p))
}

// List returns the ids of every record of kind, sorted. An unknown kind
// has no records.
func (s *Store) List(kind string) ([]string, error) {
	if err := ValidateID(kind); err != nil {
		return nil, fmt.Errorf("kind: %w", err)
	}
	kdir := filepath.Join(s.dir, kind)
	entries, err := os.ReadDir(kdir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", kdir, err)
	}
	var ids []string
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ext) || !e.Type().IsRegular() {
			continue
		}
		ids = append(ids, strings.TrimSuffix(name, ext))
	}
	sort.Strings(ids)
	return ids, nil
}
