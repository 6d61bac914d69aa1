package archive

import (
	"fmt"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// whiteout handles an entry whose base name starts with ".wh.".
func (x *extractor) whiteout(rel, base string) error {
	d := dir(rel)
	switch {
	case base == whiteoutOpaque:
		return x.opaque(d)
	case strings.HasPrefix(base, whiteoutMeta):
		return nil // aufs bookkeeping (.wh..wh.plnk and the like)
	}
	name := strings.TrimPrefix(base, whiteoutPrefix)
	if name == "" || name == "." || name == ".." {
		return fmt.Errorf("whiteout of %q", name)
	}
	parent, err := openDir(x.root, d, x.opts.Whiteouts == WhiteoutOverlay)
	if err != nil {
		if x.opts.Whiteouts == WhiteoutApply {
			return nil // nothing below to hide
		}
		return err
	}
	defer unix.Close(parent)
	if err := removeAt(parent, name); err != nil {
		return err
	}
	if x.opts.Whiteouts == WhiteoutApply {
		return nil
	}
	if err := unix.Mknodat(parent, name, unix.S_IFCHR, 0); err != nil {
		return fmt.Errorf("whiteout %s: mknod: %w", path.Join(d, name), err)
	}
	return nil
}

// opaque hides what lower layers have in directory d.
func (x *extractor) opaque(d string) error {
	if x.opts.Whiteouts == WhiteoutOverlay {
		if err := ensureDir(x.root, d); err != nil {
			return err
		}
		fd, err := openat2(x.root, d, unix.O_RDONLY|unix.O_DIRECTORY)
		if err != nil {
			return fmt.Errorf("open %s: %w", d, err)
		}
		defer unix.Close(fd)
		// Without CAP_SYS_ADMIN, the form overlayfs's userxattr option reads.
		attr := opaqueXattr
		if x.opts.Unprivileged {
			attr = userOpaqueXattr
		}
		if err := unix.Fsetxattr(fd, attr, []byte("y"), 0); err != nil {
			return fmt.Errorf("opaque %s: setxattr: %w", d, err)
		}
		return nil
	}
	fd, err := openat2(x.root, d, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return nil // nothing below to hide
	}
	defer unix.Close(fd)
	// Keep what this layer already put there: the marker may come after
	// the directory's new children in the archive.
	return removeChildren(fd, func(name string) bool { return x.written[path.Join(d, name)] })
}

// ensureDir makes sure directory d exists.
func ensureDir(root int, d string) error {
	fd, err := openDir(root, d, true)
	if err != nil {
		return err
	}
	return unix.Close(fd)
}
