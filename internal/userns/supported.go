package userns

import (
	"os"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Supported says this host can run pods in user namespaces of their own:
// user namespaces are enabled, and the kernel has idmapped mounts
// (mount_setattr, Linux 5.12; overlayfs on idmapped layers, 5.19).
var Supported = sync.OnceValue(func() bool {
	b, err := os.ReadFile("/proc/sys/user/max_user_namespaces")
	if err != nil || strings.TrimSpace(string(b)) == "0" {
		return false
	}
	if _, err := os.Stat("/proc/self/ns/user"); err != nil {
		return false
	}
	var u unix.Utsname
	if unix.Uname(&u) != nil || !atLeast(unix.ByteSliceToString(u.Release[:]), 5, 19) {
		return false
	}
	return unix.MountSetattr(-1, "", 0, &unix.MountAttr{}) != unix.ENOSYS
})

// atLeast compares a kernel release ("6.1.0-13-amd64") with major.minor.
func atLeast(release string, major, minor int) bool {
	var ma, mi int
	for i, part := range strings.SplitN(release, ".", 3) {
		n := 0
		for _, c := range part {
			if c < '0' || c > '9' {
				break
			}
			n = n*10 + int(c-'0')
		}
		if i == 0 {
			ma = n
		} else if i == 1 {
			mi = n
		}
	}
	return ma > major || ma == major && mi >= minor
}
