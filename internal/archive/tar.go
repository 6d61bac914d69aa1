package archive

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Tar writes the tree under dir to w as a PAX tar with names relative to
// dir, as docker export does: owners, modes, mtimes, xattrs, device nodes
// and hardlinks (an inode seen before becomes a link to its first name).
// Symlinks are stored, never followed.
//
// The tree may be a running container's, changing while it is read. It
// is walked by descriptor: each name is opened O_PATH|O_NOFOLLOW in its
// parent's descriptor, so a directory swapped for a symlink mid-walk is
// archived as that symlink and never leads the walk out of the tree,
// and a file's content is read only from the inode that was described.
func Tar(w io.Writer, dir string) error {
	root, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("tar %s: %w", dir, err)
	}
	defer unix.Close(root)
	t := &tarWalk{tw: tar.NewWriter(w), seen: map[[2]uint64]string{}, buf: make([]byte, 1<<20)}
	if err := t.children(root, ""); err != nil {
		return fmt.Errorf("tar %s: %w", dir, err)
	}
	if err := t.tw.Close(); err != nil {
		return fmt.Errorf("tar %s: %w", dir, err)
	}
	return nil
}

type tarWalk struct {
	tw   *tar.Writer
	seen map[[2]uint64]string
	buf  []byte
}

// children archives the entries of the directory dirfd, whose name in
// the tar is rel ("" for the top), in name order.
func (t *tarWalk) children(dirfd int, rel string) error {
	names, err := readNames(dirfd)
	if err != nil {
		return fmt.Errorf("%s: %w", rel, err)
	}
	slices.Sort(names)
	for _, n := range names {
		if n == "." || n == ".." {
			continue
		}
		name := n
		if rel != "" {
			name = rel + "/" + n
		}
		if err := t.entry(dirfd, n, name, true); err != nil {
			return err
		}
	}
	return nil
}

// entry archives base of the directory dirfd as name, and when recurse
// is set, a directory's contents after it.
func (t *tarWalk) entry(dirfd int, base, name string, recurse bool) error {
	fd, err := unix.Openat(dirfd, base, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		return nil // removed while the tree was read
	}
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	typ := st.Mode & unix.S_IFMT
	if typ == unix.S_IFSOCK {
		return nil // a tar cannot hold a socket
	}
	hdr, err := t.header(fd, name, &st)
	if err != nil {
		return err
	}
	var data *os.File
	switch {
	case typ == unix.S_IFREG:
		if data, err = openSame(dirfd, base, &st, unix.O_RDONLY); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		defer data.Close()
	case typ == unix.S_IFDIR:
		if data, err = openSame(dirfd, base, &st, unix.O_RDONLY|unix.O_DIRECTORY); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		defer data.Close()
	}
	if data != nil {
		if err := fdXattrs(hdr, int(data.Fd())); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	if err := t.tw.WriteHeader(hdr); err != nil {
		return err
	}
	switch {
	case typ == unix.S_IFDIR && recurse:
		return t.children(fd, name)
	case hdr.Typeflag == tar.TypeReg && hdr.Size > 0:
		// The header promised Size bytes: a file that shrank meanwhile
		// is padded with zeros by the tar writer's error, so copy
		// exactly that many.
		_, err := io.CopyBuffer(t.tw, io.LimitReader(data, hdr.Size), t.buf)
		return err
	}
	return nil
}

// tarEntry archives the single entry p, named rel in the tar, where p
// ends in rel: the directory p minus rel is the tree's root, and rel's
// directories are resolved beneath it without following any symlink.
func tarEntry(tw *tar.Writer, p, rel string, seen map[[2]uint64]string, buf []byte) error {
	top, ok := strings.CutSuffix(p, "/"+rel)
	if !ok || rel == "" {
		return fmt.Errorf("%s does not end in %s", p, rel)
	}
	root, err := unix.Open(top, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(root)
	parent := root
	if d := dir(rel); d != "" {
		how := unix.OpenHow{Flags: unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
			Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS}
		if parent, err = unix.Openat2(root, d, &how); err != nil {
			return fmt.Errorf("open %s: %w", d, err)
		}
		defer unix.Close(parent)
	}
	t := &tarWalk{tw: tw, seen: seen, buf: buf}
	return t.entry(parent, path.Base(rel), rel, false)
}

// openSame opens base in dirfd for reading, without following a symlink
// or blocking on a FIFO, and checks it is the inode st describes: a name
// swapped between the stat and this open is an error, not other data.
func openSame(dirfd int, base string, st *unix.Stat_t, flags int) (*os.File, error) {
	fd, err := unix.Openat(dirfd, base, flags|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	var st2 unix.Stat_t
	if err := unix.Fstat(fd, &st2); err != nil {
		unix.Close(fd)
		return nil, err
	}
	if st2.Dev != st.Dev || st2.Ino != st.Ino {
		unix.Close(fd)
		return nil, fmt.Errorf("replaced while being read: %w", unix.ESTALE)
	}
	return os.NewFile(uintptr(fd), base), nil
}

// header describes the inode behind the O_PATH descriptor fd.
func (t *tarWalk) header(fd int, name string, st *unix.Stat_t) (*tar.Header, error) {
	hdr := &tar.Header{
		Name: name, Mode: int64(st.Mode & 0o7777), Uid: int(st.Uid), Gid: int(st.Gid),
		ModTime: time.Unix(st.Mtim.Unix()), Format: tar.FormatPAX,
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		hdr.Typeflag, hdr.Name = tar.TypeDir, name+"/"
	case unix.S_IFLNK:
		link, err := readlinkFd(fd)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, link
	case unix.S_IFCHR, unix.S_IFBLK:
		hdr.Typeflag = tar.TypeChar
		if st.Mode&unix.S_IFMT == unix.S_IFBLK {
			hdr.Typeflag = tar.TypeBlock
		}
		hdr.Devmajor, hdr.Devminor = int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
	case unix.S_IFIFO:
		hdr.Typeflag = tar.TypeFifo
	default:
		hdr.Typeflag, hdr.Size = tar.TypeReg, st.Size
		if st.Nlink > 1 {
			key := [2]uint64{st.Dev, st.Ino}
			if first, ok := t.seen[key]; ok {
				hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
			} else {
				t.seen[key] = name
			}
		}
	}
	return hdr, nil
}

// readlinkFd reads the symlink an O_PATH|O_NOFOLLOW descriptor holds.
func readlinkFd(fd int) (string, error) {
	for size := 256; ; size *= 2 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(fd, "", buf)
		if err != nil {
			return "", fmt.Errorf("readlink: %w", err)
		}
		if n < size {
			return string(buf[:n]), nil
		}
	}
}

// fdXattrs adds the extended attributes of the open file fd, except
// overlayfs's own.
func fdXattrs(hdr *tar.Header, fd int) error {
	sz, err := unix.Flistxattr(fd, nil)
	if err != nil || sz == 0 {
		return nil // no xattrs, or a file system without them
	}
	list := make([]byte, sz)
	if sz, err = unix.Flistxattr(fd, list); err != nil {
		return fmt.Errorf("listxattr: %w", err)
	}
	for _, name := range strings.Split(strings.TrimRight(string(list[:sz]), "\x00"), "\x00") {
		if name == "" || strings.HasPrefix(name, "trusted.overlay.") {
			continue
		}
		val := make([]byte, 64<<10)
		n, err := unix.Fgetxattr(fd, name, val)
		if err != nil {
			continue // raced away or not readable: not part of the content
		}
		if hdr.PAXRecords == nil {
			hdr.PAXRecords = map[string]string{}
		}
		hdr.PAXRecords[xattrPAXPrefix+name] = string(val[:n])
	}
	return nil
}
