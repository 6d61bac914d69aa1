package daemon

import (
	"context"
	"fmt"
	"io"

	"github.com/pier-engine/pier/internal/archive"
	"github.com/pier-engine/pier/internal/snapshot"
)

// ContainerExport writes the container's filesystem to w as a tar, as
// docker export does: the image's layers and the container's changes,
// without its volumes (those are mounted only in the container's own
// mount namespace). A running container's rootfs is read where it is
// mounted; a stopped one is mounted for the export and unmounted after.
// Nothing is written to w when the container does not exist.
func (d *Daemon) ContainerExport(ctx context.Context, ref string, w io.Writer) error {
	r, err := d.lookup(ref)
	if err != nil {
		return err
	}
	if r.Mounted {
		return d.tarRootfs(r.ID, w)
	}
	// The lock keeps the container from starting while its snapshot is
	// mounted here: a second overlay mount of the same upper directory
	// is undefined behaviour.
	defer d.lockContainer(r.ID)()
	if r, err = d.lookup(r.ID); err != nil {
		return err
	}
	if r.Mounted {
		return d.tarRootfs(r.ID, w)
	}
	p := d.paths(r.ID)
	if err := d.images.Snapshots().Mount(r.ID, p.rootfs); err != nil {
		return fmt.Errorf("export %s: %w", r.ID, err)
	}
	err = d.tarRootfs(r.ID, w)
	if uerr := snapshot.Unmount(p.rootfs); uerr != nil && err == nil {
		err = fmt.Errorf("export %s: %w", r.ID, uerr)
	}
	return err
}

// tarRootfs archives the rootfs by descriptor (archive.Tar): a running
// container that swaps a directory for a symlink while it is read gets
// the symlink archived, never the host files it names.
func (d *Daemon) tarRootfs(id string, w io.Writer) error {
	if err := archive.Tar(w, d.paths(id).rootfs); err != nil {
		return fmt.Errorf("export %s: %w", id, err)
	}
	return nil
}
