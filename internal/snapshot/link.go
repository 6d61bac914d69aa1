package snapshot

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrNotLinkable says a layer cannot be linked (another filesystem, an
// overlay feature pier's mounts do not read); the caller unpacks it from
// its blob instead.
var ErrNotLinkable = errors.New("layer not linkable")

// Link makes the layer chainID on top of parent from src, the same
// layer's files already unpacked on this filesystem in overlay form
// (BuildKit's committed overlay snapshot, the upper directory of the step
// that made the layer): directories are made anew with src's owner, mode,
// extended attributes and times; files, symlinks, devices and whiteouts
// are hard-linked, so no file data is copied. src must never change again
// (a committed snapshot does not; removing it leaves the links). As with
// Unpack, the layer appears only once complete, and an existing layer is
// left alone. Errors wrapping ErrNotLinkable leave nothing behind.
func (s *Store) Link(ctx context.Context, chainID, parent, src string) error {
	fi, err := os.Lstat(src)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("link layer %s: %w: %w", chainID, err, ErrNotLinkable)
	}
	if err != nil {
		return fmt.Errorf("link layer %s: %w", chainID, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("link layer %s: %s is not a directory: %w", chainID, src, ErrNotLinkable)
	}
	return s.Unpack(ctx, chainID, parent, func(dir string) error { return linkDir(ctx, src, dir) })
}

// linkDir links src's entries into dst, which exists, then gives dst
// src's metadata (last: adding entries changes a directory's times).
func linkDir(ctx context.Context, src, dst string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		return fmt.Errorf("read %s: %w", src, err)
	}
	for _, e := range ents {
		sp, dp := filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())
		if e.IsDir() {
			if err := os.Mkdir(dp, 0o700); err != nil {
				return fmt.Errorf("mkdir %s: %w", dp, err)
			}
			if err := linkDir(ctx, sp, dp); err != nil {
				return err
			}
			continue
		}
		if e.Type().IsRegular() {
			if err := refuseOverlayXattr(sp, "trusted.overlay.metacopy"); err != nil {
				return err
			}
		}
		if err := unix.Linkat(unix.AT_FDCWD, sp, unix.AT_FDCWD, dp, 0); err != nil {
			if errors.Is(err, unix.EXDEV) {
				return fmt.Errorf("link %s: %w: %w", sp, err, ErrNotLinkable)
			}
			return fmt.Errorf("link %s: %w", sp, err)
		}
	}
	return copyDirMeta(src, dst)
}

// refuseOverlayXattr fails with ErrNotLinkable when p has the overlay
// attribute name: a metacopy file has no data of its own and a redirect
// directory names another, which pier's mounts (neither metacopy nor
// redirect_dir) would not follow.
func refuseOverlayXattr(p, name string) error {
	_, err := unix.Lgetxattr(p, name, nil)
	if err == nil {
		return fmt.Errorf("%s has %s: %w", p, name, ErrNotLinkable)
	}
	if errors.Is(err, unix.ENODATA) || errors.Is(err, unix.ENOTSUP) {
		return nil
	}
	return fmt.Errorf("getxattr %s %s: %w", p, name, err)
}

// copyDirMeta gives the directory dst src's owner, mode, extended
// attributes (of overlay's own only the opaque mark) and times.
func copyDirMeta(src, dst string) error {
	if err := refuseOverlayXattr(src, "trusted.overlay.redirect"); err != nil {
		return err
	}
	var st unix.Stat_t
	if err := unix.Lstat(src, &st); err != nil {
		return fmt.Errorf("stat %s: %w", src, err)
	}
	if err := unix.Lchown(dst, int(st.Uid), int(st.Gid)); err != nil {
		return fmt.Errorf("chown %s: %w", dst, err)
	}
	if err := unix.Chmod(dst, st.Mode&07777); err != nil {
		return fmt.Errorf("chmod %s: %w", dst, err)
	}
	if err := copyXattrs(src, dst); err != nil {
		return err
	}
	ts := []unix.Timespec{st.Atim, st.Mtim}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, dst, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("utimes %s: %w", dst, err)
	}
	return nil
}

func copyXattrs(src, dst string) error {
	names, err := listXattrs(src)
	if err != nil {
		return err
	}
	for _, n := range names {
		// origin and impure point into the filesystem the directory
		// was copied up on; as a lower layer pier's mounts ignore them.
		if strings.HasPrefix(n, "trusted.overlay.") && n != "trusted.overlay.opaque" {
			continue
		}
		v, err := getXattr(src, n)
		if err != nil {
			return err
		}
		if err := unix.Lsetxattr(dst, n, v, 0); err != nil {
			return fmt.Errorf("setxattr %s %s: %w", dst, n, err)
		}
	}
	return nil
}

func listXattrs(p string) ([]string, error) {
	buf := make([]byte, 1024)
	for {
		n, err := unix.Llistxattr(p, buf)
		if errors.Is(err, unix.ERANGE) {
			buf = make([]byte, 2*len(buf))
			continue
		}
		if errors.Is(err, unix.ENOTSUP) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("listxattr %s: %w", p, err)
		}
		var out []string
		for _, s := range strings.Split(string(buf[:n]), "\x00") {
			if s != "" {
				out = append(out, s)
			}
		}
		return out, nil
	}
}

func getXattr(p, name string) ([]byte, error) {
	buf := make([]byte, 256)
	for {
		n, err := unix.Lgetxattr(p, name, buf)
		if errors.Is(err, unix.ERANGE) {
			buf = make([]byte, 2*len(buf))
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("getxattr %s %s: %w", p, name, err)
		}
		return buf[:n], nil
	}
}
