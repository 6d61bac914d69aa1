package archive

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// WhiteoutMode says what Extract does with whiteout entries.
type WhiteoutMode int

const (
	// WhiteoutOverlay converts whiteouts to overlayfs form, for a layer
	// unpacked into its own snapshot: ".wh.name" becomes a 0:0 character
	// device "name", ".wh..wh..opq" the xattr trusted.overlay.opaque=y on
	// its directory. Needs CAP_MKNOD and CAP_SYS_ADMIN.
	WhiteoutOverlay WhiteoutMode = iota
	// WhiteoutApply deletes what the whiteouts name, for layers unpacked
	// on top of each other into one directory.
	WhiteoutApply
)

const (
	whiteoutPrefix  = ".wh."
	whiteoutMeta    = ".wh..wh."
	whiteoutOpaque  = ".wh..wh..opq"
	opaqueXattr     = "trusted.overlay.opaque"
	userOpaqueXattr = "user.overlay.opaque"
	xattrPAXPrefix  = "SCHILY.xattr."
)

// Options tune Extract.
type Options struct {
	Whiteouts WhiteoutMode
	// Unprivileged skips what needs root: owners, device nodes other than
	// whiteouts and trusted.* xattrs; opaque directories get
	// user.overlay.opaque instead. Directories stay writable by the owner until the
	// end so that their children can be created.
	Unprivileged bool
}

// Extract unpacks the uncompressed tar stream r into the existing
// directory dst. Nothing outside dst is created, changed or followed; see
// the package documentation.
func Extract(ctx context.Context, r io.Reader, dst string, opts Options) error {
	root, err := unix.Open(dst, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", dst, err)
	}
	defer unix.Close(root)
	buf := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(buf)
	x := &extractor{root: root, opts: opts, buf: *buf}
	if opts.Whiteouts == WhiteoutApply {
		x.written = map[string]bool{}
	}
	tr := tar.NewReader(r)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("read tar: %w", err)
		}
		if err := x.entry(hdr, tr); err != nil {
			return fmt.Errorf("extract %q: %w", hdr.Name, err)
		}
	}
	return x.finishDirs()
}

// copyBufs hold the buffers files are copied through, kept between
// extractions: a small tar would spend more time getting a fresh
// megabyte than writing its files.
var copyBufs = sync.Pool{New: func() any {
	b := make([]byte, 1<<20)
	return &b
}}

type extractor struct {
	root    int
	opts    Options
	buf     []byte
	dirs    []dirMeta
	written map[string]bool // WhiteoutApply only: paths of this layer
}

// dirMeta is applied after all entries, since creating children changes a
// directory's mtime and a read-only mode would forbid them.
type dirMeta struct {
	rel   string
	mode  uint32
	mtime time.Time
}

func (x *extractor) entry(hdr *tar.Header, r io.Reader) error {
	rel := clean(hdr.Name)
	if rel == "" {
		return nil // the target's own entry: it keeps its attributes
	}
	base := path.Base(rel)
	if strings.HasPrefix(base, whiteoutPrefix) {
		return x.whiteout(rel, base)
	}
	parent, err := openDir(x.root, dir(rel), true)
	if err != nil {
		return err
	}
	defer unix.Close(parent)
	x.markWritten(rel)
	if hdr.Typeflag == tar.TypeDir {
		return x.mkdir(parent, rel, base, hdr)
	}
	if err := removeAt(parent, base); err != nil {
		return err
	}
	switch hdr.Typeflag {
	case tar.TypeReg, tar.TypeRegA:
		return x.file(parent, base, hdr, r)
	case tar.TypeSymlink:
		if err := unix.Symlinkat(hdr.Linkname, parent, base); err != nil {
			return fmt.Errorf("symlink: %w", err)
		}
		return x.attrsAt(parent, base, hdr)
	case tar.TypeLink:
		return x.hardlink(parent, base, hdr)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		return x.node(parent, base, hdr)
	case tar.TypeXGlobalHeader:
		return nil
	default:
		return fmt.Errorf("unsupported tar entry type %q", hdr.Typeflag)
	}
}

// markWritten records rel and its ancestors as this layer's, for opaque
// directories in WhiteoutApply mode.
func (x *extractor) markWritten(rel string) {
	for x.written != nil && rel != "" && !x.written[rel] {
		x.written[rel] = true
		rel = dir(rel)
	}
}

func (x *extractor) mkdir(parent int, rel, base string, hdr *tar.Header) error {
	var st unix.Stat_t
	err := unix.Fstatat(parent, base, &st, unix.AT_SYMLINK_NOFOLLOW)
	if err == nil && st.Mode&unix.S_IFMT != unix.S_IFDIR {
		if err := removeAt(parent, base); err != nil {
			return err
		}
		err = unix.ENOENT
	}
	if errors.Is(err, unix.ENOENT) {
		err = unix.Mkdirat(parent, base, 0o700)
	}
	if err != nil {
		return fmt.Errorf("mkdir: %w", err)
	}
	fd, err := unix.Openat(parent, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open directory: %w", err)
	}
	defer unix.Close(fd)
	if err := x.chown(fd, hdr); err != nil {
		return err
	}
	if err := x.xattrs(fd, hdr); err != nil {
		return err
	}
	x.dirs = append(x.dirs, dirMeta{rel: rel, mode: perm(hdr), mtime: hdr.ModTime})
	return nil
}

func (x *extractor) file(parent int, base string, hdr *tar.Header, r io.Reader) error {
	fd, err := unix.Openat(parent, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	f := os.NewFile(uintptr(fd), base)
	defer f.Close()
	if _, err := io.CopyBuffer(struct{ io.Writer }{f}, r, x.buf); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	// Owner before mode: chown clears the set-id bits.
	if err := x.chown(fd, hdr); err != nil {
		return err
	}
	if err := unix.Fchmod(fd, perm(hdr)); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	if err := x.xattrs(fd, hdr); err != nil {
		return err
	}
	ts := times(hdr)
	if err := unix.UtimesNanoAt(fd, "", ts, unix.AT_EMPTY_PATH); err != nil {
		return fmt.Errorf("utimes: %w", err)
	}
	return f.Close()
}

// hardlink links to an earlier entry; its name is resolved inside the
// target like every other name, and a final symlink is linked, not followed.
func (x *extractor) hardlink(parent int, base string, hdr *tar.Header) error {
	target := clean(hdr.Linkname)
	if target == "" {
		return fmt.Errorf("hardlink to the root directory")
	}
	tparent, err := openDir(x.root, dir(target), false)
	if err != nil {
		return fmt.Errorf("hardlink target: %w", err)
	}
	defer unix.Close(tparent)
	if err := unix.Linkat(tparent, path.Base(target), parent, base, 0); err != nil {
		return fmt.Errorf("link to %s: %w", target, err)
	}
	return nil
}

func (x *extractor) node(parent int, base string, hdr *tar.Header) error {
	typ := uint32(unix.S_IFIFO)
	switch hdr.Typeflag {
	case tar.TypeChar:
		typ = unix.S_IFCHR
	case tar.TypeBlock:
		typ = unix.S_IFBLK
	}
	if x.opts.Unprivileged && hdr.Typeflag != tar.TypeFifo {
		return nil
	}
	dev := unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))
	// Mode 0: the umask cannot widen it, and the node is useless to
	// anyone until its attributes are set below.
	if err := unix.Mknodat(parent, base, typ, int(dev)); err != nil {
		return fmt.Errorf("mknod: %w", err)
	}
	// The target may be a live container's, which can swap the name for
	// a symlink to a host file between mknod and chmod: the attributes
	// go through a no-follow descriptor of what is checked to be a node
	// of the kind just made, never through the name.
	fd, err := unix.Openat(parent, base, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open node: %w", err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("fstat node: %w", err)
	}
	if st.Mode&unix.S_IFMT != typ || (typ != unix.S_IFIFO && st.Rdev != dev) {
		return fmt.Errorf("node was replaced while being made (mode %o): %w", st.Mode, unix.EEXIST)
	}
	return x.attrsPath(fd, perm(hdr), hdr)
}

// attrsPath sets owner, mode and times of the inode behind the O_PATH
// descriptor fd. The /proc/self/fd link names that inode itself, so no
// name a container can change is resolved.
func (x *extractor) attrsPath(fd int, mode uint32, hdr *tar.Header) error {
	if !x.opts.Unprivileged {
		if err := unix.Fchownat(fd, "", hdr.Uid, hdr.Gid, unix.AT_EMPTY_PATH); err != nil {
			return fmt.Errorf("chown %d:%d: %w", hdr.Uid, hdr.Gid, err)
		}
	}
	proc := fmt.Sprintf("/proc/self/fd/%d", fd)
	// Owner before mode: chown clears the set-id bits.
	if err := unix.Chmod(proc, mode); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	if err := unix.UtimesNano(proc, times(hdr)); err != nil {
		return fmt.Errorf("utimes: %w", err)
	}
	return nil
}

// attrsAt sets owner and times of a name that must not be followed.
func (x *extractor) attrsAt(parent int, base string, hdr *tar.Header) error {
	if !x.opts.Unprivileged {
		if err := unix.Fchownat(parent, base, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("lchown: %w", err)
		}
	}
	if err := unix.UtimesNanoAt(parent, base, times(hdr), unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("utimes: %w", err)
	}
	return nil
}

func (x *extractor) chown(fd int, hdr *tar.Header) error {
	if x.opts.Unprivileged {
		return nil
	}
	if err := unix.Fchown(fd, hdr.Uid, hdr.Gid); err != nil {
		return fmt.Errorf("chown %d:%d: %w", hdr.Uid, hdr.Gid, err)
	}
	return nil
}

// xattrs sets the entry's extended attributes, except overlayfs's own,
// which a layer must not be able to forge (redirects, metacopy).
func (x *extractor) xattrs(fd int, hdr *tar.Header) error {
	for k, v := range hdr.PAXRecords {
		name, ok := strings.CutPrefix(k, xattrPAXPrefix)
		if !ok || strings.HasPrefix(name, "trusted.overlay.") || strings.HasPrefix(name, "user.overlay.") {
			continue
		}
		if x.opts.Unprivileged && !strings.HasPrefix(name, "user.") {
			continue
		}
		if err := unix.Fsetxattr(fd, name, []byte(v), 0); err != nil {
			return fmt.Errorf("setxattr %s: %w", name, err)
		}
	}
	return nil
}

// finishDirs applies modes and mtimes of directories, deepest first.
func (x *extractor) finishDirs() error {
	for i := len(x.dirs) - 1; i >= 0; i-- {
		d := x.dirs[i]
		fd, err := openat2(x.root, d.rel, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW)
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) {
			continue // replaced or removed by a later entry
		}
		if err != nil {
			return fmt.Errorf("open %s: %w", d.rel, err)
		}
		err = unix.Fchmod(fd, d.mode)
		if err == nil {
			ts := []unix.Timespec{unix.NsecToTimespec(d.mtime.UnixNano()), unix.NsecToTimespec(d.mtime.UnixNano())}
			err = unix.UtimesNanoAt(fd, "", ts, unix.AT_EMPTY_PATH)
		}
		unix.Close(fd)
		if err != nil {
			return fmt.Errorf("set attributes of %s: %w", d.rel, err)
		}
	}
	return nil
}

func perm(hdr *tar.Header) uint32 {
	return uint32(hdr.Mode) & 0o7777
}

// times gives atime and mtime; archives rarely carry an atime, and then
// the mtime stands in for it so that extraction is reproducible.
func times(hdr *tar.Header) []unix.Timespec {
	m := unix.NsecToTimespec(hdr.ModTime.UnixNano())
	a := m
	if !hdr.AccessTime.IsZero() {
		a = unix.NsecToTimespec(hdr.AccessTime.UnixNano())
	}
	return []unix.Timespec{a, m}
}
