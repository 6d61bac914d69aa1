package rootfs

import "os"

func fileMode(m uint32) *os.FileMode {
	f := os.FileMode(m)
	return &f
}
