package sys

import (
	"io/fs"
	"syscall"

	"golang.org/x/sys/unix"
)

// Open flags for the layers above L2, which leave syscall and x/sys/unix
// to the layers below them.
const (
	ONoFollow  = unix.O_NOFOLLOW
	ODirectory = unix.O_DIRECTORY
	OPath      = unix.O_PATH
)

// Inode identifies the file fi describes (its device and inode) and
// counts its hard links; ok is false when fi does not come from stat(2).
func Inode(fi fs.FileInfo) (dev, ino, nlink uint64, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, 0, false
	}
	return st.Dev, st.Ino, uint64(st.Nlink), true
}

// Owner is the uid and gid of the file fi describes; ok is false when fi
// does not come from stat(2).
func Owner(fi fs.FileInfo) (uid, gid uint32, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, false
	}
	return st.Uid, st.Gid, true
}
