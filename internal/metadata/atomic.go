package metadata

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// write replaces the file p with v's JSON so that a crash at any point
// leaves either the old file or the new one: temporary file in the same
// directory, fsync, rename, fsync of the directory. The caller holds the
// record's lock.
func (s *Store) write(p string, v any) (err error) {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", p, err)
	}
	dir := filepath.Dir(p)
	if err := s.ensureKindDir(dir); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, tmpPrefix+filepath.Base(p)+"-*")
	if err != nil {
		return fmt.Errorf("create temp for %s: %w", p, err)
	}
	tmp := f.Name() // CreateTemp makes it 0600: records may hold secrets (env).
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, p); err != nil {
		return fmt.Errorf("rename %s: %w", p, err)
	}
	return syncDir(dir)
}

// ensureKindDir creates a kind's directory on its first record and makes
// the new directory entry durable too.
func (s *Store) ensureKindDir(dir string) error {
	err := os.Mkdir(dir, 0o700)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("mkdir %s: %w", dir, err)
	}
	return syncDir(s.dir)
}

// syncDir makes the renames and unlinks in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	return nil
}
