package atomicfile

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// TempPrefix starts the name of every temporary file this package makes.
const TempPrefix = ".tmp-"

// IsTemp reports whether name (a base name) is one of this package's
// temporary files, left behind if the process died mid-write.
func IsTemp(name string) bool { return strings.HasPrefix(name, TempPrefix) }

// WriteFile replaces path with data and gives it exactly perm (the umask
// does not apply). On error the target is untouched and no temporary file
// remains.
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	return Write(path, perm, writeData(data))
}

func writeData(data []byte) func(io.Writer) error {
	return func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}
}

// Write replaces path with what fill writes, for content that is streamed
// rather than held in memory. fill's error aborts the write and is
// returned as is, wrapped with the path.
func Write(path string, perm fs.FileMode, fill func(io.Writer) error) error {
	return write(path, perm, durable, fill)
}

// syncLevel is how much of a write is made durable before it returns.
type syncLevel int

const (
	volatile syncLevel = iota // nothing: WriteVolatile
	ordered                   // the data before the rename: WriteOrdered
	durable                   // the data and the rename: WriteFile, Write
)

// write is Write at the sync level given.
func write(path string, perm fs.FileMode, level syncLevel, fill func(io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	// A unique name: two writers of the same file never share a temporary
	// (a fixed "path.tmp" lets one rename the other's half-written file).
	f, err := os.CreateTemp(dir, TempPrefix+base+"-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := fill(f); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	// The mode is set before the rename so the target never appears, even
	// for an instant, with CreateTemp's 0600 instead of perm.
	if err := f.Chmod(perm); err != nil {
		return fmt.Errorf("chmod %s: %w", tmp, err)
	}
	if level >= ordered {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("fsync %s: %w", tmp, err)
		}
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename %s: %w", path, err)
	}
	if level < durable {
		return nil
	}
	return SyncDir(dir)
}

// SyncDir makes the renames, creations and unlinks in dir durable.
func SyncDir(dir string) error {
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
