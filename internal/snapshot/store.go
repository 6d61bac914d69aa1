package snapshot

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pier-engine/pier/internal/errdefs"
	"golang.org/x/sys/unix"
)

// Store is a directory of layer snapshots and container writable layers.
// Its methods are safe for concurrent use by one process.
type Store struct {
	root string
}

// New opens the store at root, creating it, and removes what interrupted
// unpacks left in tmp/.
func New(root string) (*Store, error) {
	s := &Store{root: root}
	if err := os.RemoveAll(s.path("tmp")); err != nil {
		return nil, fmt.Errorf("clean %s: %w", s.path("tmp"), err)
	}
	for _, d := range []string{"layers", "active", "tmp", "empty"} {
		if err := os.MkdirAll(s.path(d), 0o700); err != nil {
			return nil, fmt.Errorf("snapshot store: %w", err)
		}
	}
	return s, nil
}

// Root is the store's directory.
func (s *Store) Root() string { return s.root }

func (s *Store) path(elem ...string) string {
	return filepath.Join(append([]string{s.root}, elem...)...)
}

// key turns "sha256:<hex>" into the directory name, refusing anything that
// is not a plain name so an id can never point out of the store.
func key(id string) (string, error) {
	k := id
	if _, hex, ok := strings.Cut(id, ":"); ok {
		k = hex
	}
	if k == "" || k == "." || k == ".." || strings.ContainsAny(k, "/\x00") {
		return "", fmt.Errorf("snapshot id %q: %w", id, errdefs.ErrInvalidArgument)
	}
	return k, nil
}

// writeFileSync writes a small file and flushes it before returning.
func writeFileSync(path, content string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// syncDir flushes a directory, so that renames into it survive a crash.
func syncDir(dir string) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	defer unix.Close(fd)
	if err := unix.Fsync(fd); err != nil {
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	return nil
}

func readParent(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "parent"))
	if errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("%s: %w", dir, errdefs.ErrNotFound)
	}
	return strings.TrimSpace(string(b)), err
}
