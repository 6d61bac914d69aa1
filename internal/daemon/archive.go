package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"

	"github.com/pier-engine/pier/internal/decompress"
	"github.com/pier-engine/pier/internal/errdefs"
)

// cp's errors keep dockerd's words, since the docker CLI prints them as
// they are.
func readOnly(msg string) error { return errdefs.New(errdefs.ErrInvalidArgument, msg) }

// notFound turns a missing file into dockerd's message, which names the
// path and the container as the client gave them.
func notFound(err error, ref, p string) error {
	if errors.Is(err, fs.ErrNotExist) {
		return errdefs.New(errdefs.ErrNotFound, "Could not find the file "+p+" in container "+ref)
	}
	return err
}

// cpAbs is the container path p as docker cp means it: absolute and
// clean, but a trailing "/" or "/." is kept, since "dir/." copies the
// contents of dir and a trailing separator follows a final symlink.
func cpAbs(p string) string {
	abs := path.Join("/", p)
	if !strings.HasSuffix(abs, "/") && filepath.Base(p) == "." {
		abs += "/."
	}
	if !strings.HasSuffix(abs, "/") && strings.HasSuffix(p, "/") {
		abs += "/"
	}
	return abs
}

// followsLast says whether the final component of abs is followed when
// it is a symlink: a trailing "/" or "/." asks for what it points to.
func followsLast(abs string) bool {
	return strings.HasSuffix(abs, "/") || strings.HasSuffix(abs, "/.")
}

// ContainerStatPath is HEAD /containers/{id}/archive: lstat of path in
// the container, symlinks in its parents resolved inside the container.
func (d *Daemon) ContainerStatPath(ctx context.Context, ref, p string) (st container.PathStat, err error) {
	err = d.withFS(ref, func(cfs *ctrFS) error {
		st, err = cfs.stat(cpAbs(p))
		return notFound(err, ref, p)
	})
	return st, err
}

// withFS runs fn on the file system of container ref and releases it.
func (d *Daemon) withFS(ref string, fn func(*ctrFS) error) error {
	cfs, err := d.openFS(ref)
	if err != nil {
		return err
	}
	err = fn(cfs)
	if rerr := cfs.release(); rerr != nil && err == nil {
		err = fmt.Errorf("container %s: %w", cfs.rec.ID, rerr)
	}
	return err
}

// stat describes abs as dockerd does: Name is its base name and a
// symlink's LinkTarget is where it leads, fully resolved in the
// container (or as far as it resolves, for a dangling one).
func (fs *ctrFS) stat(abs string) (container.PathStat, error) {
	f, err := fs.open(abs, followsLast(abs))
	if err != nil {
		return container.PathStat{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return container.PathStat{}, fmt.Errorf("stat %s: %w", abs, err)
	}
	st := container.PathStat{
		Name: path.Base(abs), Size: fi.Size(), Mode: fi.Mode(), Mtime: fi.ModTime(),
	}
	if fi.Mode()&os.ModeSymlink != 0 {
		st.LinkTarget = fs.linkTarget(abs)
	}
	return st, nil
}

func (fs *ctrFS) linkTarget(abs string) string {
	if f, err := fs.open(abs, true); err == nil {
		defer f.Close()
		if p, err := fs.containerPath(f); err == nil {
			return p
		}
	}
	// Dangling: the link's own text, made absolute.
	root, rel := fs.locate(abs)
	parent, err := os.OpenRoot(root)
	if err != nil {
		return ""
	}
	defer parent.Close()
	target, err := parent.Readlink(strings.TrimPrefix(path.Clean("/"+rel), "/"))
	if err != nil {
		return ""
	}
	if !path.IsAbs(target) {
		target = path.Join(path.Dir(path.Clean(abs)), target)
	}
	return path.Clean(target)
}

// ContainerArchivePath is GET /containers/{id}/archive: it calls stat
// with the path's stat, then writes a tar of it to w. A directory is
// archived with everything below it, its entries named under the base
// name of path ("." for "dir/.", nothing for "/"), which the client
// renames; symlinks are archived as links, never followed.
func (d *Daemon) ContainerArchivePath(ctx context.Context, ref, p string, stat func(container.PathStat), w io.Writer) error {
	var rec containerRecord
	err := d.withFS(ref, func(cfs *ctrFS) error {
		rec = cfs.rec
		return cfs.archive(ctx, ref, p, stat, w)
	})
	if err == nil {
		d.emitContainer(rec, events.ActionArchivePath)
	}
	return err
}

func (cfs *ctrFS) archive(ctx context.Context, ref, p string, stat func(container.PathStat), w io.Writer) error {
	abs := cpAbs(p)
	st, err := cfs.stat(abs)
	if err != nil {
		return notFound(err, ref, p)
	}
	name := path.Base(abs)
	if name == "/" {
		name = ""
	}
	root, entry, dir, err := cfs.openTop(abs, st.Mode.IsDir())
	if err != nil {
		return notFound(err, ref, p)
	}
	defer root.Close()
	stat(st)
	opaque := func(rel string) bool { return cfs.kernelMount(path.Join(dir, rel)) }
	if err := writeTree(ctx, w, root, entry, name, opaque); err != nil {
		return fmt.Errorf("archive %s in %s: %w", p, cfs.rec.ID, err)
	}
	return nil
}

// ContainerExtractToDir is PUT /containers/{id}/archive: it unpacks the
// tar r (plain, gzip or zstd) into the directory p of the container,
// which must exist. p is resolved with every symlink followed, inside the
// container; the entries are created there with internal/archive, which
// resolves each of their names inside the container's root as well.
// noOverwriteDirNonDir refuses to replace a directory with a
// non-directory and the reverse; copyUIDGID gives every file the ids of
// the container's user.
func (d *Daemon) ContainerExtractToDir(ctx context.Context, ref, p string, noOverwriteDirNonDir, copyUIDGID bool, r io.Reader) error {
	var rec containerRecord
	err := d.withFS(ref, func(cfs *ctrFS) error {
		rec = cfs.rec
		return cfs.extract(ctx, ref, p, extractOpts{noOverwriteDirNonDir, copyUIDGID}, r)
	})
	if err == nil {
		d.emitContainer(rec, events.ActionExtractToDir)
	}
	return err
}

type extractOpts struct{ noOverwrite, copyUIDGID bool }

func (cfs *ctrFS) extract(ctx context.Context, ref, p string, opts extractOpts, r io.Reader) error {
	abs := cpAbs(p)
	f, err := cfs.open(abs, true)
	if err != nil {
		return notFound(err, ref, p)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", p, err)
	}
	if !fi.IsDir() {
		return errdefs.New(errdefs.ErrInvalidArgument, "extraction point is not a directory")
	}
	dst, err := cfs.containerPath(f)
	if err != nil {
		return fmt.Errorf("resolve %s: %w", p, err)
	}
	if err := cfs.writable(dst); err != nil {
		return err
	}
	var owner *[2]int
	if opts.copyUIDGID && cfs.rec.Config != nil && cfs.rec.Config.User != "" {
		u, err := resolveExecUser(cfs.root, cfs.rec.Config.User)
		if err != nil {
			return fmt.Errorf("%s: %w", err.Error(), errdefs.ErrInvalidArgument)
		}
		owner = &[2]int{int(u.UID), int(u.GID)}
	}
	tr, err := decompress.Open(r)
	if err != nil {
		return fmt.Errorf("%w: %w", err, errdefs.ErrInvalidArgument)
	}
	defer tr.Close()
	root, rel := cfs.locate(dst)
	x := extraction{root: root, dir: rel, ctrDir: dst, noOverwrite: opts.noOverwrite, owner: owner}
	if err := x.run(ctx, tr); err != nil {
		return fmt.Errorf("extract to %s in %s: %w", p, cfs.rec.ID, err)
	}
	return nil
}
