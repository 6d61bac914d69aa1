package sys

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// FSUsage is the size and inode counts of the filesystem holding a path.
type FSUsage struct {
	Bytes, FreeBytes, Inodes, FreeInodes uint64
}

// Statfs reports the filesystem holding path (statfs(2)).
func Statfs(path string) (FSUsage, error) {
	var s unix.Statfs_t
	if err := IgnoringEINTR(func() error { return unix.Statfs(path, &s) }); err != nil {
		return FSUsage{}, fmt.Errorf("statfs %s: %w", path, err)
	}
	bs := uint64(s.Bsize)
	return FSUsage{Bytes: s.Blocks * bs, FreeBytes: s.Bavail * bs, Inodes: s.Files, FreeInodes: s.Ffree}, nil
}
