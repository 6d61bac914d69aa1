package archive

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// inRoot is how every path of an archive is resolved: symlinks and ".."
// stop at the target, and /proc magic links are refused outright.
const inRoot = unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS

// clean turns an archive name into a path relative to the target: "" for
// the target itself, never starting with "/" or "..".
func clean(name string) string {
	return strings.TrimPrefix(path.Clean("/"+name), "/")
}

// openat2 retries on EAGAIN and EINTR, which the kernel returns when a
// rename raced the lookup.
func openat2(dirfd int, rel string, flags uint64) (int, error) {
	if rel == "" {
		rel = "."
	}
	how := unix.OpenHow{Flags: flags | unix.O_CLOEXEC, Resolve: inRoot}
	for {
		fd, err := unix.Openat2(dirfd, rel, &how)
		if err == unix.EAGAIN || err == unix.EINTR {
			continue
		}
		return fd, err
	}
}

// openDir opens the directory rel inside root as an O_PATH descriptor,
// creating missing directories (mode 0755) when create is set.
func openDir(root int, rel string, create bool) (int, error) {
	fd, err := openat2(root, rel, unix.O_PATH|unix.O_DIRECTORY)
	if err == nil || !create || !errors.Is(err, unix.ENOENT) || rel == "" {
		if err != nil {
			return -1, fmt.Errorf("open %s: %w", rel, err)
		}
		return fd, nil
	}
	parent, err := openDir(root, dir(rel), true)
	if err != nil {
		return -1, err
	}
	err = unix.Mkdirat(parent, path.Base(rel), 0o755)
	unix.Close(parent)
	if err != nil && !errors.Is(err, unix.EEXIST) {
		return -1, fmt.Errorf("mkdir %s: %w", rel, err)
	}
	fd, err = openat2(root, rel, unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return -1, fmt.Errorf("open %s: %w", rel, err)
	}
	return fd, nil
}

// dir is path.Dir for cleaned relative paths, with "" for the root.
func dir(rel string) string {
	d := path.Dir(rel)
	if d == "." {
		return ""
	}
	return d
}

// removeAt removes name under the directory dirfd, recursively, without
// following symlinks. A missing name is not an error.
func removeAt(dirfd int, name string) error {
	err := unix.Unlinkat(dirfd, name, 0)
	if err == nil || errors.Is(err, unix.ENOENT) {
		return nil
	}
	if !errors.Is(err, unix.EISDIR) && !errors.Is(err, unix.EPERM) {
		return fmt.Errorf("unlink %s: %w", name, err)
	}
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", name, err)
	}
	err = removeChildren(fd, nil)
	unix.Close(fd)
	if err != nil {
		return fmt.Errorf("%s/%w", name, err)
	}
	if err := unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("rmdir %s: %w", name, err)
	}
	return nil
}

// removeChildren empties the directory fd, sparing the names keep holds.
func removeChildren(fd int, keep func(name string) bool) error {
	names, err := readNames(fd)
	if err != nil {
		return err
	}
	for _, n := range names {
		if keep != nil && keep(n) {
			continue
		}
		if err := removeAt(fd, n); err != nil {
			return err
		}
	}
	return nil
}

// readNames lists a directory through a duplicate of fd, so the caller's
// descriptor and its offset stay untouched.
func readNames(fd int) ([]string, error) {
	dup, err := unix.Openat(fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("reopen directory: %w", err)
	}
	defer unix.Close(dup)
	var names []string
	buf := make([]byte, 32<<10)
	for {
		n, err := unix.Getdents(dup, buf)
		if err != nil {
			return nil, fmt.Errorf("getdents: %w", err)
		}
		if n <= 0 {
			return names, nil
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
}
