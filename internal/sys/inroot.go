package sys

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Everything here resolves a path the way chroot(root) would: ".." stops at
// root and an absolute symlink restarts at root, so a hostile rootfs (a
// symlink `evil -> /` or `evil -> ../../..`) can redirect a lookup only to
// somewhere else inside itself. This is the CVE-2021-30465 class: a mount
// target checked as a path and then mounted by path can be swapped for a
// symlink in between. The helpers therefore return descriptors, and callers
// act on /proc/self/fd/N, which names the object that was checked.

// maxSymlinks is the kernel's own limit (MAXSYMLINKS) on links per lookup.
const maxSymlinks = 40

// useOpenat2 is cleared by tests to exercise the fallback walk.
var useOpenat2 = true

// OpenInRoot opens path, resolved inside root, with flags (O_CLOEXEC is
// always added). Symlinks are followed but never out of root; magic links
// (/proc/self/fd/N and friends) are refused. flags must not contain O_CREAT:
// use MkfileInRoot to create.
func OpenInRoot(root, path string, flags int) (*os.File, error) {
	if flags&unix.O_CREAT != 0 {
		return nil, fmt.Errorf("open %s in %s: O_CREAT: %w", path, root, unix.EINVAL)
	}
	rootFd, err := openRoot(root)
	if err != nil {
		return nil, err
	}
	defer unix.Close(rootFd)
	fd, err := openInRootFd(rootFd, path, flags)
	if err != nil {
		return nil, fmt.Errorf("open %s in %s: %w", path, root, err)
	}
	return os.NewFile(uintptr(fd), filepath.Join(root, path)), nil
}

// MkdirAllInRoot makes path and its missing parents inside root with mode
// (before umask) and returns the final directory opened O_PATH.
func MkdirAllInRoot(root, path string, mode os.FileMode) (*os.File, error) {
	rootFd, err := openRoot(root)
	if err != nil {
		return nil, err
	}
	defer unix.Close(rootFd)
	fd, err := walk(rootFd, path, createDir, uint32(mode.Perm()))
	if err != nil {
		return nil, fmt.Errorf("mkdir %s in %s: %w", path, root, err)
	}
	if err := requireType(fd, unix.S_IFDIR); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("mkdir %s in %s: %w", path, root, err)
	}
	return os.NewFile(uintptr(fd), filepath.Join(root, path)), nil
}

// MkfileInRoot returns path inside root opened O_PATH, first creating it as
// an empty regular file (and its parents as directories) when it does not
// exist; a dangling symlink gets its target created, inside root. An existing object of any type is returned as it is; callers that
// care check its type.
func MkfileInRoot(root, path string, mode os.FileMode) (*os.File, error) {
	rootFd, err := openRoot(root)
	if err != nil {
		return nil, err
	}
	defer unix.Close(rootFd)
	fd, err := walk(rootFd, path, createFile, uint32(mode.Perm()))
	if err != nil {
		return nil, fmt.Errorf("create %s in %s: %w", path, root, err)
	}
	return os.NewFile(uintptr(fd), filepath.Join(root, path)), nil
}

func openRoot(root string) (int, error) {
	fd, err := IgnoringEINTRFd(func() (int, error) {
		return unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	})
	if err != nil {
		return -1, fmt.Errorf("open root %s: %w", root, err)
	}
	return fd, nil
}

func openInRootFd(rootFd int, path string, flags int) (int, error) {
	how := &unix.OpenHow{
		Flags:   uint64(flags | unix.O_CLOEXEC),
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	}
	if fd, ok, err := tryOpenat2(rootFd, path, how); ok {
		return fd, err
	}
	fd, err := walk(rootFd, path, createNone, 0)
	if err != nil || flags&unix.O_PATH != 0 {
		return fd, err
	}
	defer unix.Close(fd)
	// Reopening through the magic link opens exactly the object the walk
	// checked, with the access mode the caller wanted.
	return IgnoringEINTRFd(func() (int, error) {
		return unix.Open(fmt.Sprintf("/proc/self/fd/%d", fd), (flags&^unix.O_NOFOLLOW)|unix.O_CLOEXEC, 0)
	})
}

// tryOpenat2 opens path under dirFd with openat2, again on EINTR and on
// EAGAIN (a concurrent rename made the kernel give up). ok is false when
// openat2 is off or the kernel lacks it (ENOSYS): the caller walks instead.
func tryOpenat2(dirFd int, path string, how *unix.OpenHow) (fd int, ok bool, err error) {
	if !useOpenat2 {
		return -1, false, nil
	}
	for {
		fd, err := unix.Openat2(dirFd, path, how)
		if errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN) {
			continue
		}
		return fd, !errors.Is(err, unix.ENOSYS), err
	}
}

func requireType(fd int, want uint32) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != want {
		if want == unix.S_IFDIR {
			return unix.ENOTDIR
		}
		return unix.EEXIST
	}
	return nil
}

func splitPath(p string) []string {
	var out []string
	for _, c := range strings.Split(p, "/") {
		if c != "" && c != "." {
			out = append(out, c)
		}
	}
	return out
}
