package daemon

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/pier-engine/pier/internal/archive"
	"github.com/pier-engine/pier/internal/sys"
)

// treeWriter archives a tree for docker cp. It reads through an os.Root,
// which follows no symlink out of the tree: the tree's own symlinks are
// stored as links, and a directory a container process swaps for a
// symlink while it is read cannot lead the walk out.
type treeWriter struct {
	ctx  context.Context
	tw   *tar.Writer
	root *os.Root
	seen map[[2]uint64]string // hardlinks: the first name of an inode
	buf  []byte
	// opaque says a directory is archived without its contents.
	opaque func(rel string) bool
}

// writeTree writes entry of root (and, for a directory, all below it)
// to w as a tar whose names start with name: entry itself is name, its
// child c is name/c. Directories for which opaque is true are archived
// empty.
func writeTree(ctx context.Context, w io.Writer, root *os.Root, entry, name string, opaque func(rel string) bool) error {
	t := &treeWriter{ctx: ctx, tw: tar.NewWriter(w), root: root, seen: map[[2]uint64]string{}, buf: make([]byte, 256<<10), opaque: opaque}
	if err := t.add(entry, name, true); err != nil {
		return err
	}
	return t.tw.Close()
}

func (t *treeWriter) add(rel, name string, top bool) error {
	if err := t.ctx.Err(); err != nil {
		return err
	}
	fi, err := t.root.Lstat(rel)
	if errors.Is(err, fs.ErrNotExist) && !top {
		return nil // removed while the tree was read
	}
	if err != nil {
		return err
	}
	hdr, err := t.header(rel, name, fi)
	if err != nil || hdr == nil {
		return err
	}
	if err := t.tw.WriteHeader(hdr); err != nil {
		return err
	}
	switch {
	case fi.IsDir() && !t.opaque(rel):
		return t.children(rel, name)
	case hdr.Typeflag == tar.TypeReg && hdr.Size > 0:
		return t.content(rel, hdr.Size)
	}
	return nil
}

// header describes fi as dockerd's archives do; nil for a socket, which
// a tar cannot hold.
func (t *treeWriter) header(rel, name string, fi fs.FileInfo) (*tar.Header, error) {
	if fi.Mode()&fs.ModeSocket != 0 {
		return nil, nil
	}
	var link string
	if fi.Mode()&fs.ModeSymlink != 0 {
		var err error
		if link, err = t.root.Readlink(rel); err != nil {
			return nil, err
		}
	}
	hdr, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rel, err)
	}
	hdr.Name = name
	if fi.IsDir() {
		hdr.Name += "/"
	}
	hdr.Format = tar.FormatPAX
	// Names of the host's users mean nothing in the container.
	hdr.Uname, hdr.Gname = "", ""
	hdr.AccessTime, hdr.ChangeTime = time.Time{}, time.Time{}
	if dev, ino, nlink, ok := sys.Inode(fi); ok && fi.Mode().IsRegular() && nlink > 1 {
		key := [2]uint64{dev, ino}
		if first, ok := t.seen[key]; ok {
			hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
		} else {
			t.seen[key] = name
		}
	}
	return hdr, nil
}

func (t *treeWriter) children(rel, name string) error {
	d, err := t.root.Open(rel)
	if err != nil {
		return err
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return err
	}
	slices.Sort(names)
	for _, n := range names {
		if err := t.add(path.Join(rel, n), name+"/"+n, false); err != nil {
			return err
		}
	}
	return nil
}

func (t *treeWriter) content(rel string, size int64) error {
	f, err := t.root.OpenFile(rel, os.O_RDONLY|sys.ONoFollow, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.CopyBuffer(t.tw, io.LimitReader(f, size), t.buf)
	return err
}

// extraction unpacks a docker cp upload below dir of root. The entries
// are renamed into dir and handed to archive.Extract at root, so that
// every name, symlink and hardlink of the upload resolves inside root
// (the container's, or a volume's), as it would inside the container.
type extraction struct {
	root, dir   string
	ctrDir      string // dir as the container names it, for messages
	noOverwrite bool
	owner       *[2]int // uid, gid for every entry; nil keeps the tar's
}

// errExtractStopped tells the renaming goroutine that Extract returned.
var errExtractStopped = errors.New("extraction stopped")

func (x *extraction) run(ctx context.Context, r io.Reader) error {
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := x.rename(r, pw)
		pw.CloseWithError(err)
		done <- err
	}()
	err := archive.Extract(ctx, pr, x.root, archive.Options{Whiteouts: archive.WhiteoutApply})
	pr.CloseWithError(errExtractStopped)
	if rerr := <-done; rerr != nil && !errors.Is(rerr, errExtractStopped) {
		return rerr
	}
	return err
}

func (x *extraction) rename(r io.Reader, w io.Writer) error {
	tr, tw := tar.NewReader(r), tar.NewWriter(w)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return tw.Close()
		}
		if err != nil {
			return fmt.Errorf("read tar: %w", err)
		}
		rel := strings.TrimPrefix(path.Clean("/"+hdr.Name), "/")
		// The destination keeps its own attributes, as in dockerd; and
		// an upload is files, not a layer: whiteouts delete nothing.
		if rel == "" || strings.HasPrefix(path.Base(rel), ".wh.") {
			continue
		}
		target := path.Join(x.dir, rel)
		if x.noOverwrite {
			if err := x.checkOverwrite(target, rel, hdr.Typeflag == tar.TypeDir); err != nil {
				return err
			}
		}
		hdr.Name = target
		if hdr.Typeflag == tar.TypeLink {
			hdr.Linkname = path.Join(x.dir, strings.TrimPrefix(path.Clean("/"+hdr.Linkname), "/"))
		}
		if x.owner != nil {
			hdr.Uid, hdr.Gid = x.owner[0], x.owner[1]
		}
		hdr.Format = tar.FormatUnknown
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return err
		}
	}
}

// checkOverwrite is dockerd's noOverwriteDirNonDir, with its words.
func (x *extraction) checkOverwrite(target, rel string, dir bool) error {
	f, err := sys.OpenInRoot(x.root, target, sys.OPath|sys.ONoFollow)
	if err != nil {
		return nil // nothing there to overwrite
	}
	fi, err := f.Stat()
	f.Close()
	if err != nil {
		return nil
	}
	p := path.Join(x.ctrDir, rel)
	if fi.IsDir() && !dir {
		return fmt.Errorf("cannot overwrite directory %q with non-directory %q", p, x.ctrDir)
	}
	if !fi.IsDir() && dir {
		return fmt.Errorf("cannot overwrite non-directory %q with directory %q", p, x.ctrDir)
	}
	return nil
}
