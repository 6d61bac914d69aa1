package sys

import (
	"io/fs"
	"syscall"
	"time"
)

// ChangeTime is the inode change time of the file fi describes (stat's
// st_ctime); ok is false when fi does not come from stat(2).
func ChangeTime(fi fs.FileInfo) (time.Time, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return time.Time{}, false
	}
	return time.Unix(st.Ctim.Sec, st.Ctim.Nsec), true
}
