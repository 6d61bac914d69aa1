package metadata

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/pier-engine/pier/internal/atomicfile"
)

// write replaces the file p with v's JSON so that a crash at any point
// leaves either the old file or the new one (atomicfile). Mode 0600:
// records may hold secrets (env). The caller holds the record's lock.
func (s *Store) write(p string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", p, err)
	}
	return s.writeData(p, data)
}

// writeData is write of v's JSON, data.
func (s *Store) writeData(p string, data []byte) error {
	if err := s.ensureKindDir(filepath.Dir(p)); err != nil {
		return err
	}
	return atomicfile.WriteFile(p, data, 0o600)
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
func syncDir(dir string) error { return atomicfile.SyncDir(dir) }
