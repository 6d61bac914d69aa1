package daemon

import (
	"context"
	"time"

	"github.com/pier-engine/pier/internal/monitor"
	"github.com/pier-engine/pier/internal/ociruntime"
	"github.com/pier-engine/pier/internal/snapshot"
	"github.com/pier-engine/pier/internal/trace"
)

// pierd reaches a container's OCI runtime through two seams, so that the
// lifecycle (start, stop, restart policies, pause, exec, health) runs in
// unit tests against fakes, without root (lifecycle_test.go):
//
//   - ociRuntime, the runtime's verbs pierd runs itself. One per runtime
//     name (runtimeNamed); ociruntime.CLI is the real one. The state of a
//     container (running, paused, its exit) is pierd's, never the seam's.
//   - launcher, what a run needs beside the runtime: the rootfs mounted and
//     a pier-monitor started, which creates, starts, waits for and deletes
//     the container through the same runtime and writes how it ended.

// ociRuntime is a container's OCI runtime, as pierd drives it.
type ociRuntime interface {
	// Kill sends sig (a name or a number) to the container's init; an
	// unknown signal is errdefs.ErrInvalidArgument.
	Kill(ctx context.Context, id, sig string) error
	// Pause freezes the container; Resume thaws it.
	Pause(ctx context.Context, id string) error
	Resume(ctx context.Context, id string) error
	// Exec starts a process in the running container and returns once it
	// started; its Wait gives the process's status.
	Exec(ctx context.Context, id string, o ociruntime.ExecOpts) (ociruntime.Process, error)
	// Ps lists the host pids of the container's processes.
	Ps(ctx context.Context, id string) ([]int, error)
	// Stats decodes one cgroup snapshot of the container into data (a
	// *cgroups.Stats).
	Stats(ctx context.Context, id string, data any) error
	// Update changes the limits of the live container.
	Update(ctx context.Context, id string, r ociruntime.Resources) error
}

var _ ociRuntime = ociruntime.CLI{}

// launcher begins a container's run.
type launcher interface {
	// mountRootfs mounts container id's writable layer on target,
	// volatile when the layer goes with the container's end (AutoRemove);
	// unmountRootfs undoes it.
	mountRootfs(id, target string, volatile bool) error
	unmountRootfs(target string) error
	// startMonitor starts the container's monitor on cfg (written to
	// configPath) and returns once the container runs or failed to start.
	startMonitor(configPath string, cfg monitor.Config) (monitorProc, error)
}

// monitorProc is a started monitor: its pid, the container's init pid,
// wait, which returns once the container has ended and its
// cfg.StatusFile is written, and ready (nil without cfg.InitReady), which
// returns once the container's pier-init is ready (at most after timeout).
type monitorProc struct {
	pid, containerPid int
	wait              func() error
	ready             func(timeout time.Duration) error
}

// hostLauncher is the real launcher: the image store's snapshots and the
// pier-monitor binary beside pier-runtime.
type hostLauncher struct{ d *Daemon }

func (h hostLauncher) mountRootfs(id, target string, volatile bool) error {
	ref, err := h.d.podUsernsOf(id)
	if err != nil {
		return err
	}
	if ref != nil { // a CRI pod's user namespace: idmapped layers
		return h.d.images.Snapshots().MountIDMapped(id, target, ref.Path, int(ref.UID), int(ref.GID))
	}
	if volatile {
		return h.d.images.Snapshots().MountVolatile(id, target)
	}
	return h.d.images.Snapshots().Mount(id, target)
}

func (h hostLauncher) unmountRootfs(target string) error { return snapshot.Unmount(target) }

func (h hostLauncher) startMonitor(configPath string, cfg monitor.Config) (monitorProc, error) {
	trace.Mark("pierd", "monitor: fork+exec")
	m, err := h.d.startMonitor(configPath, cfg)
	if err != nil {
		return monitorProc{}, err
	}
	trace.Mark("pierd", "monitor reported the start")
	mp := monitorProc{pid: m.Pid, containerPid: m.ContainerPid, wait: m.Wait}
	if cfg.InitReady {
		mp.ready = m.WaitReady
	}
	return mp, nil
}

// cliRuntime is the real seam: the runtime's command line.
func cliRuntime(c ociruntime.CLI) ociRuntime { return c }

// runtimeSeams are a Daemon's two seams; New sets the real ones.
type runtimeSeams struct {
	newRuntime func(ociruntime.CLI) ociRuntime
	launch     launcher
}
