package volume

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"syscall"
)

// Usage returns the bytes held by the volume's data, for system df: the
// sizes of every file, link and special file under it, each hard-linked
// inode counted once. Symbolic links are counted, never followed.
func (s *Store) Usage(name string) (int64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	v, err := s.get(name)
	if err != nil {
		return 0, err
	}
	return usage(v.Mountpoint)
}

func usage(dir string) (int64, error) {
	type inode struct{ dev, ino uint64 }
	seen := map[inode]bool{}
	var total int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			// A container may delete files while we walk.
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		fi, err := d.Info() // lstat: WalkDir does not follow links
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 {
			k := inode{uint64(st.Dev), st.Ino}
			if seen[k] {
				return nil
			}
			seen[k] = true
		}
		total += fi.Size()
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("volume usage %s: %w", dir, err)
	}
	return total, nil
}
