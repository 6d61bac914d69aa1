package snapshot

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pier-engine/pier/internal/errdefs"
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

func readParent(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "parent"))
	if errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("%s: %w", dir, errdefs.ErrNotFound)
	}
	return strings.TrimSpace(string(b)), err
}
