package daemon

import (
	"fmt"
	"os"

	"github.com/moby/moby/api/types/container"

	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/rootfs"
)

// defaultShmSize is Docker's /dev/shm size: 64 MiB.
const defaultShmSize = 64 << 20

// shmPathFor is the host directory specgen binds on /dev/shm: for
// --ipc shareable the container's own tmpfs, which pierd mounts at each
// start; for --ipc container:X the donor's, which must be shareable, as
// dockerd requires (the donor's /dev/shm exists nowhere else).
func (d *Daemon) shmPathFor(id string, h *container.HostConfig) (string, error) {
	switch {
	case h.IpcMode.IsShareable():
		return d.paths(id).shm, nil
	case h.IpcMode.IsContainer():
		x, err := d.lookup(h.IpcMode.Container())
		if err != nil {
			return "", fmt.Errorf("HostConfig.IpcMode: %w", err)
		}
		if !x.HostConfig.IpcMode.IsShareable() {
			return "", fmt.Errorf("container %s: non-shareable IPC (hint: use IpcMode:shareable for the donor container): %w",
				h.IpcMode.Container(), errdefs.ErrInvalidArgument)
		}
		return d.paths(x.ID).shm, nil
	}
	return "", nil
}

// mountShm mounts a shareable container's /dev/shm tmpfs on the host.
func (d *Daemon) mountShm(r containerRecord, p ctrPaths) error {
	if !r.HostConfig.IpcMode.IsShareable() {
		return nil
	}
	d.unmountShm(p) // a leftover of a crash
	if err := os.MkdirAll(p.shm, 0o700); err != nil {
		return fmt.Errorf("container %s: shm: %w", r.ID, err)
	}
	size := r.HostConfig.ShmSize
	if size <= 0 {
		size = defaultShmSize
	}
	if err := rootfs.MountShm(p.shm, size); err != nil {
		return fmt.Errorf("container %s: %w", r.ID, err)
	}
	return nil
}

// unmountShm undoes mountShm; joiners keep their own bind of the tmpfs.
func (d *Daemon) unmountShm(p ctrPaths) {
	if err := rootfs.Detach(p.shm); err != nil {
		d.log.Warn("unmount shm", "path", p.shm, "err", err)
	}
}
