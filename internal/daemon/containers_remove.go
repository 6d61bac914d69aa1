package daemon

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/moby/moby/api/types/container"

	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/monitor"
	"github.com/pier-engine/pier/internal/rootfs"
	"github.com/pier-engine/pier/internal/trace"
)

// removeStopped removes container r, which does not run: its rootfs is
// unmounted, its writable layer and directories deleted, then its record.
// The record goes last, so that an rm that fails half-way can be retried,
// and a crash half-way is completed by the next start's sweep.
func (d *Daemon) removeStopped(r containerRecord) error {
	p := d.paths(r.ID)
	if r.Mounted {
		if err := d.seam.launch.unmountRootfs(p.rootfs); err != nil {
			return fmt.Errorf("container %s: %w", r.ID, err)
		}
	}
	d.unmountShm(p)
	// The writable layer and the container's directories are apart:
	// removed side by side.
	snapErr := make(chan error, 1)
	go func() { snapErr <- d.images.Snapshots().Remove(r.ID) }()
	dirErr := removeCtrDirs(p)
	if err := <-snapErr; err != nil {
		return fmt.Errorf("container %s: %w", r.ID, err)
	}
	if dirErr != nil {
		return fmt.Errorf("container %s: %w", r.ID, dirErr)
	}
	trace.Mark("pierd", "remove: snapshot and container dirs removed")
	if err := d.md.Delete(containerKind, r.ID); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
		return err
	}
	trace.Mark("pierd", "remove: record deleted")
	d.forgetRemoved(r)
	return nil
}

// forgetRemoved drops what pierd keeps of container r beside its record,
// once the record is deleted, and says it is gone.
func (d *Daemon) forgetRemoved(r containerRecord) {
	d.networkRemove(r.ID)
	d.healthRemove(r.ID)
	d.restartForget(r.ID)
	d.execs().forgetContainer(r.ID)
	d.emitContainer(r, "destroy")
}

// finishRemove ends an AutoRemove container's run (r is its record while
// it ran, st the end its monitor wrote): the rootfs is unmounted, the
// writable layer taken out of the image store (one rename), the record
// deleted, and only then, in the background, the files deleted. So a
// `run --rm` returns once the container is gone from the API, the layer
// below is free and its directories are gone from their places, as
// dockerd's (which deletes the files first), but does not wait for the
// deletions. No record of the exit is written:
// the record is deleted next, and a crash before that leaves the running
// record, which the next start adopts and removes all the same (its
// sweep, when the layer was already moved). A crash before the files
// are gone leaves them in the image store's tmp, which its next Open
// empties.
func (d *Daemon) finishRemove(r containerRecord, st monitor.Status, p ctrPaths, netDone <-chan struct{}) {
	r.State, r.Pid, r.MonitorPid = container.StateExited, 0, 0
	r.ExitCode, r.OOMKilled, r.Error, r.FinishedAt = st.ExitCode, st.OOMKilled, st.Error, st.FinishedAt
	if r.Mounted {
		if err := d.seam.launch.unmountRootfs(p.rootfs); err != nil {
			// Not mounted any more (a reboot), or busy: lazily, so that
			// the deletion below never goes through a mount.
			d.log.Warn("unmount rootfs", "container_id", r.ID, "err", err)
			rootfs.DetachAll(p.rootfs)
		}
		r.Mounted = false
	}
	d.unmountShm(p)
	trash, err := d.images.Snapshots().Unlink(r.ID)
	if err == nil {
		err = moveCtrDirs(p, trash)
	}
	trace.Mark("pierd", "finish: unmounted, files moved away")
	<-netDone
	d.emitDie(r)
	if err != nil {
		d.log.Warn("auto-remove", "container_id", r.ID, "err", err)
		d.recordEnd(r)
		return
	}
	// Not durable: after a host crash the record may be back, with its
	// files gone (the image store's tmp is emptied at Open), which the
	// sweep completes, or with them, which adoption removes again.
	if err := d.md.DeleteLazy(containerKind, r.ID); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
		d.log.Warn("auto-remove", "container_id", r.ID, "err", err)
		d.recordEnd(r)
		return
	}
	trace.Mark("pierd", "remove: record deleted")
	d.forgetRemoved(r)
	// run --rm also removes the anonymous volumes, as dockerd does.
	d.removeAnonVolumes(r)
	d.removals.Add(1)
	go func() {
		defer d.removals.Done()
		if err := os.RemoveAll(trash); err != nil {
			d.log.Warn("auto-remove: files", "container_id", r.ID, "err", err)
		}
	}()
}

// moveCtrDirs takes container p's directories away before their
// deletion: the one under the root goes into trash (the image store's
// tmp, on the same file system, emptied at the store's next Open), the
// one under the exec root, a tmpfs, is deleted at once.
func moveCtrDirs(p ctrPaths, trash string) error {
	if err := os.Rename(p.dir, filepath.Join(trash, "container")); err != nil && !errors.Is(err, os.ErrNotExist) {
		// A root on two file systems (EXDEV): deleted in place.
		if err := os.RemoveAll(p.dir); err != nil {
			return fmt.Errorf("remove %s: %w", p.dir, err)
		}
	}
	if err := os.RemoveAll(p.run); err != nil {
		return fmt.Errorf("remove %s: %w", p.run, err)
	}
	return nil
}

// recordEnd writes r, ended, as the container's record, for an
// AutoRemove container that could not be removed: it stays, exited, as
// dockerd leaves one whose removal failed.
func (d *Daemon) recordEnd(r containerRecord) {
	var cur containerRecord
	if err := d.md.Update(containerKind, r.ID, &cur, func() error {
		cur.State, cur.Pid, cur.MonitorPid = r.State, 0, 0
		cur.ExitCode, cur.OOMKilled, cur.Error, cur.FinishedAt = r.ExitCode, r.OOMKilled, r.Error, r.FinishedAt
		cur.Mounted = r.Mounted
		return nil
	}); err != nil {
		d.log.Warn("record the end", "container_id", r.ID, "err", err)
	}
}

// WaitRemovals waits for the files of removed containers that are still
// being deleted in the background (finishRemove).
func (d *Daemon) WaitRemovals() { d.removals.Wait() }
