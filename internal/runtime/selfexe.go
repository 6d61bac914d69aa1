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

// selfExes holds one read-only handle per binary, made on first use: a
// long-lived caller (pierd) starts many preambles. A binary replaced on
// disk (a new build) gets a new handle; the old one stays open, as a spawn
// may be using it.
var (
	selfMu   sync.Mutex
	selfExes = map[string]selfHandle{} // Guarded by selfMu.
)

type selfHandle struct {
	f   *os.File
	ino uint64
}

// selfExe returns a read-only handle on the binary whose preamble starts
// container processes: exe, or this binary when exe is "". Its fd is kept
// above the low numbers that ExtraFiles are moved to in the child.
func selfExe(exe string) (*os.File, error) {
	if exe == "" {
		exe = "/proc/self/exe"
	}
	var st unix.Stat_t
	if err := unix.Stat(exe, &st); err != nil {
		return nil, fmt.Errorf("stat %s: %w", exe, err)
	}
	selfMu.Lock()
	defer selfMu.Unlock()
	if h, ok := selfExes[exe]; ok && h.ino == st.Ino {
		return h.f, nil
	}
	fd, err := roBind(exe)
	if err != nil {
		fd, err = sealedCopy(exe)
	}
	if err != nil {
		return nil, err
	}
	high, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 100)
	unix.Close(fd)
	if err != nil {
		return nil, fmt.Errorf("dup %s: %w", exe, err)
	}
	f := os.NewFile(uintptr(high), "pier-runtime")
	selfExes[exe] = selfHandle{f: f, ino: st.Ino}
	return f, nil
}

func roBind(exe string) (int, error) {
	fd, err := unix.OpenTree(unix.AT_FDCWD, exe, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("open_tree %s: %w", exe, err)
	}
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV}
	if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, &attr); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("mount_setattr read-only %s: %w", exe, err)
	}
	return fd, nil
}

func sealedCopy(exe string) (int, error) {
	src, err := os.Open(exe)
	if err != nil {
		return -1, fmt.Errorf("open %s: %w", exe, err)
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
