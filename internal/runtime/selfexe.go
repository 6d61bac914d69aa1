package runtime

import (
	"fmt"
	"io"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// The container's first process runs a copy of this binary. A process in
// the container could otherwise open /proc/PID/exe of it and, once the
// runtime has exited, write through it to the host's pier-runtime (the
// CVE-2019-5736 class). The copy is the same file seen through a detached,
// read-only bind mount, so any write fails with EROFS; it costs a few
// syscalls where a memfd copy costs a copy of the binary. Kernels without
// open_tree/mount_setattr (< 5.12), or a caller without CAP_SYS_ADMIN, get
// a sealed memfd copy instead.

var (
	selfOnce sync.Once
	selfFile *os.File
	selfErr  error
)

// selfExe returns a read-only handle on this binary. Its fd is kept above
// the low numbers that ExtraFiles are moved to in the child.
func selfExe() (*os.File, error) {
	selfOnce.Do(func() {
		fd, err := roBindSelf()
		if err != nil {
			fd, err = sealedCopySelf()
		}
		if err != nil {
			selfErr = err
			return
		}
		high, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 100)
		unix.Close(fd)
		if err != nil {
			selfErr = fmt.Errorf("dup self exe: %w", err)
			return
		}
		selfFile = os.NewFile(uintptr(high), "pier-runtime")
	})
	return selfFile, selfErr
}

func roBindSelf() (int, error) {
	fd, err := unix.OpenTree(unix.AT_FDCWD, "/proc/self/exe", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("open_tree /proc/self/exe: %w", err)
	}
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV}
	if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, &attr); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("mount_setattr read-only self exe: %w", err)
	}
	return fd, nil
}

func sealedCopySelf() (int, error) {
	src, err := os.Open("/proc/self/exe")
	if err != nil {
		return -1, fmt.Errorf("open self exe: %w", err)
	}
	defer src.Close()
	fd, err := unix.MemfdCreate("pier-runtime", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return -1, fmt.Errorf("memfd_create: %w", err)
	}
	dst := os.NewFile(uintptr(fd), "memfd")
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return -1, fmt.Errorf("copy self exe: %w", err)
	}
	seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		dst.Close()
		return -1, fmt.Errorf("seal self exe copy: %w", err)
	}
	nfd, err := unix.Dup(fd)
	dst.Close()
	if err != nil {
		return -1, fmt.Errorf("dup self exe copy: %w", err)
	}
	unix.CloseOnExec(nfd)
	return nfd, nil
}
