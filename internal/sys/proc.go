package sys

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Writes to procfs (sysctls, oom_score_adj) must reach the kernel, not a
// file that a container's mount has put over the procfs path (the
// CVE-2025-52881 class). OpenProc checks that a directory is the root of a
// procfs; OpenInProc opens beneath such a root without crossing into any
// other mount, so a bind over /proc/sys/... is refused rather than written.

// procRootIno is the inode number of every procfs instance's root.
const procRootIno = 1

// OpenProc opens dir (normally "/proc") O_PATH, refusing a symlink as its
// last component, and checks that it is the root of a procfs.
func OpenProc(dir string) (*os.File, error) {
	fd, err := IgnoringEINTRFd(func() (int, error) {
		return unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}
	f := os.NewFile(uintptr(fd), dir)
	if err := checkProc(fd, true); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return f, nil
}

var errNotProc = errors.New("not procfs")

func checkProc(fd int, root bool) error {
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(fd, &sfs); err != nil {
		return fmt.Errorf("fstatfs: %w", err)
	}
	if sfs.Type != unix.PROC_SUPER_MAGIC {
		return fmt.Errorf("%w (filesystem type %#x)", errNotProc, sfs.Type)
	}
	if !root {
		return nil
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("fstat: %w", err)
	}
	if st.Ino != procRootIno {
		return fmt.Errorf("%w: a procfs directory, not its root (inode %d)", errNotProc, st.Ino)
	}
	return nil
}

// OpenInProc opens name (relative, such as "sys/kernel/domainname" or
// "self/oom_score_adj") beneath proc, an OpenProc or CloneMount result,
// with flags. The lookup never leaves proc's mount (RESOLVE_NO_XDEV: a
// bind mount over any component fails with EXDEV) and follows no magic
// link; procfs's own plain symlinks ("self") are fine, they stay beneath.
func OpenInProc(proc *os.File, name string, flags int) (*os.File, error) {
	if filepath.IsAbs(name) || strings.Contains("/"+name+"/", "/../") {
		return nil, fmt.Errorf("open %s in procfs: %w", name, unix.EINVAL)
	}
	fd, err := openInProc(int(proc.Fd()), name, flags)
	if err != nil {
		return nil, fmt.Errorf("open %s in procfs: %w", name, err)
	}
	if err := checkProc(fd, false); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("open %s in procfs: %w", name, err)
	}
	return os.NewFile(uintptr(fd), filepath.Join("/proc", name)), nil
}

func openInProc(procFd int, name string, flags int) (int, error) {
	how := &unix.OpenHow{
		Flags:   uint64(flags | unix.O_CLOEXEC | unix.O_NOFOLLOW),
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_XDEV | unix.RESOLVE_NO_MAGICLINKS,
	}
	if fd, ok, err := tryOpenat2(procFd, name, how); ok {
		return fd, err
	}
	return walkProc(procFd, name, flags)
}

// walkProc is the fallback before openat2 (Linux 5.6): one component at a
// time, never following a symlink but procfs's relative ones, each
// component required to be on proc's own device. A bind from elsewhere
// has another device; a bind of another file of the same procfs instance
// cannot be told apart this way, which is why openat2 comes first.
func walkProc(procFd int, name string, flags int) (int, error) {
	var root unix.Stat_t
	if err := unix.Fstat(procFd, &root); err != nil {
		return -1, err
	}
	dir, err := unix.Dup(procFd)
	if err != nil {
		return -1, err
	}
	rest := splitPath(name)
	for links := 0; len(rest) > 0; {
		comp := rest[0]
		rest = rest[1:]
		next, err := unix.Openat(dir, comp, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			unix.Close(dir)
			return -1, err
		}
		var st unix.Stat_t
		if err := unix.Fstat(next, &st); err != nil || st.Dev != root.Dev {
			unix.Close(next)
			unix.Close(dir)
			if err == nil {
				err = unix.EXDEV
			}
			return -1, err
		}
		if st.Mode&unix.S_IFMT == unix.S_IFLNK {
			target, err := readlinkFd(next)
			unix.Close(next)
			if links++; err != nil || links > maxSymlinks || strings.HasPrefix(target, "/") || strings.Contains("/"+target+"/", "/../") {
				unix.Close(dir)
				return -1, unix.ELOOP
			}
			rest = append(splitPath(target), rest...)
			continue
		}
		unix.Close(dir)
		dir = next
	}
	defer unix.Close(dir)
	return IgnoringEINTRFd(func() (int, error) {
		return unix.Open(fmt.Sprintf("/proc/self/fd/%d", dir), flags|unix.O_CLOEXEC, 0)
	})
}

// OpenNoSymlinks opens path inside root (resolved as chroot(root) would)
// with flags, refusing a symlink anywhere on the way (ELOOP) and any magic
// link: what it returns is at exactly that path, for the targets a planted
// symlink must not move (/dev/null, /dev/console). O_CREAT is allowed.
func OpenNoSymlinks(root, path string, flags int, mode uint32) (*os.File, error) {
	rootFd, err := openRoot(root)
	if err != nil {
		return nil, err
	}
	defer unix.Close(rootFd)
	fd, err := openNoSymlinks(rootFd, path, flags, mode)
	if err != nil {
		return nil, fmt.Errorf("open %s in %s: %w", path, root, err)
	}
	return os.NewFile(uintptr(fd), filepath.Join(root, path)), nil
}

func openNoSymlinks(rootFd int, path string, flags int, mode uint32) (int, error) {
	how := &unix.OpenHow{
		Flags:   uint64(flags | unix.O_CLOEXEC | unix.O_NOFOLLOW),
		Mode:    uint64(mode),
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	}
	if fd, ok, err := tryOpenat2(rootFd, path, how); ok {
		return fd, err
	}
	comps := splitPath(path)
	if len(comps) == 0 {
		return -1, unix.EINVAL
	}
	dir, err := unix.Dup(rootFd)
	if err != nil {
		return -1, err
	}
	defer func() { unix.Close(dir) }()
	for _, c := range comps[:len(comps)-1] {
		if c == ".." {
			return -1, unix.EINVAL
		}
		next, err := unix.Openat(dir, c, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			if errors.Is(err, unix.ENOTDIR) {
				err = unix.ELOOP // a symlink, or not a directory: either way not followed
			}
			return -1, err
		}
		unix.Close(dir)
		dir = next
	}
	return IgnoringEINTRFd(func() (int, error) {
		return unix.Openat(dir, comps[len(comps)-1], flags|unix.O_NOFOLLOW|unix.O_CLOEXEC, mode)
	})
}
