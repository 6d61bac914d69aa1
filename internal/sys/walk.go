package sys

import (
	"errors"

	"golang.org/x/sys/unix"
)

// walk resolves path component by component below rootFd and returns an
// O_PATH descriptor of the result. It is the fallback for kernels without
// openat2 and the way directories get created on the way (openat2 cannot).
//
// Each component is opened O_NOFOLLOW relative to the directory before it.
// A symlink is read and its target spliced in front of what remains: an
// absolute one restarts at rootFd. ".." pops a stack of the descriptors
// walked so far and never goes above rootFd, so no lookup ever asks the
// kernel to resolve ".." or a symlink by itself: renames racing the walk can
// make it fail but cannot make it leave the root.
func walk(rootFd int, path string, create createKind, mode uint32) (fd int, err error) {
	root, err := unix.Dup(rootFd)
	if err != nil {
		return -1, err
	}
	stack := []int{root}
	defer func() {
		for _, d := range stack {
			unix.Close(d)
		}
	}()
	rest := splitPath(path)
	links := 0
	for len(rest) > 0 {
		name := rest[0]
		rest = rest[1:]
		if name == ".." {
			if len(stack) > 1 {
				unix.Close(stack[len(stack)-1])
				stack = stack[:len(stack)-1]
			}
			continue
		}
		kind, m := create, mode
		if kind == createFile && len(rest) > 0 {
			// The file's parents: directories with the usual mode, not
			// the file's (0600 would lock even their owner out).
			kind, m = createDir, 0o755
		}
		next, err := openComponent(stack[len(stack)-1], name, kind, m)
		if err != nil {
			return -1, err
		}
		var st unix.Stat_t
		if err := unix.Fstat(next, &st); err != nil {
			unix.Close(next)
			return -1, err
		}
		if st.Mode&unix.S_IFMT != unix.S_IFLNK {
			stack = append(stack, next)
			continue
		}
		links++
		target, err := readlinkFd(next)
		unix.Close(next)
		if err != nil {
			return -1, err
		}
		if links > maxSymlinks {
			return -1, unix.ELOOP
		}
		if len(target) > 0 && target[0] == '/' {
			for _, d := range stack[1:] {
				unix.Close(d)
			}
			stack = stack[:1]
		}
		rest = append(splitPath(target), rest...)
	}
	top := stack[len(stack)-1]
	if len(stack) == 1 {
		// The root itself: hand out a copy, the deferred close takes stack[0].
		return unix.Dup(top)
	}
	stack = stack[:len(stack)-1]
	return top, nil
}

// createKind says what walk makes of a missing component.
type createKind int

const (
	createNone createKind = iota
	createDir             // every missing component becomes a directory
	createFile            // the last one becomes an empty file, the others directories
)

func openComponent(dir int, name string, create createKind, mode uint32) (int, error) {
	open := func() (int, error) {
		return IgnoringEINTRFd(func() (int, error) {
			return unix.Openat(dir, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		})
	}
	fd, err := open()
	if err == nil || create == createNone || !errors.Is(err, unix.ENOENT) {
		return fd, err
	}
	if create == createDir {
		err = unix.Mkdirat(dir, name, mode)
	} else {
		// O_EXCL|O_NOFOLLOW: never follow something raced in.
		var f int
		f, err = unix.Openat(dir, name, unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_RDONLY|unix.O_CLOEXEC, mode)
		if err == nil {
			unix.Close(f)
		}
	}
	if err != nil && !errors.Is(err, unix.EEXIST) {
		return -1, err
	}
	// Whatever is there now (our directory, or a symlink someone raced in)
	// goes through the same checks as any other component.
	return open()
}

func readlinkFd(fd int) (string, error) {
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(fd, "", buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}
