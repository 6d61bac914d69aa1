package daemon

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"

	"github.com/pier-engine/pier/internal/daemon/network"
	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/monitor"
	"github.com/pier-engine/pier/internal/sys"
	"github.com/pier-engine/pier/internal/trace"
)

// exitWaiter is closed when a container's current run has ended and its
// record says so (and, with AutoRemove, the container is gone).
type exitWaiter struct {
	done chan struct{}
	code int
	err  string
}

// exitOf returns the waiter for the next end of container id.
func (d *Daemon) exitOf(id string) *exitWaiter {
	d.exitMu.Lock()
	defer d.exitMu.Unlock()
	w, ok := d.exits[id]
	if !ok {
		w = &exitWaiter{done: make(chan struct{})}
		d.exits[id] = w
	}
	return w
}

// exitOfRunning is exitOf for a container the caller saw running. It reads
// the record again once it holds the waiter: an exit finished between the
// caller's look and exitOf has closed and dropped the waiter, and the one
// exitOf made instead would only close at the next run's end. running
// false says the container has already ended.
func (d *Daemon) exitOfRunning(id string) (w *exitWaiter, running bool) {
	w = d.exitOf(id)
	var r containerRecord
	if err := d.md.Get(containerKind, id, &r); err != nil || r.State != container.StateRunning {
		return w, false
	}
	return w, true
}

// ContainerStart mounts the container's rootfs, connects its network and
// starts it under a pier-monitor. Starting a running container is
// errdefs.ErrAlreadyExists (the API's 304).
func (d *Daemon) ContainerStart(ctx context.Context, ref string) error {
	r, unlock, err := d.lookupLocked(ref)
	if err != nil {
		return err
	}
	defer unlock()
	if r.State == container.StateRunning {
		return fmt.Errorf("container %s: already running: %w", r.ID, errdefs.ErrAlreadyExists)
	}
	p := d.paths(r.ID)
	if err := d.prepareRun(r, p); err != nil {
		return err
	}
	if err := d.joinNamespacesNow(r, p); err != nil {
		return err
	}
	// The network's namespace is made while the rootfs is mounted.
	netc := d.prepareNetwork(ctx, r)
	if err := d.mountRun(ctx, r, p); err != nil {
		if np := <-netc; np.err == nil {
			d.networkStop(r)
		}
		return err
	}
	np := <-netc
	var m monitorProc
	var w *exitWaiter
	err = np.err
	if err == nil {
		m, w, err = d.launch(ctx, &r, p, np)
	}
	if err != nil {
		d.unmountShm(p)
		_ = d.seam.launch.unmountRootfs(p.rootfs)
		d.startFailed(r, err)
		return err
	}
	// The record is written while pier-init starts: start still returns
	// only once both are done, and the record does not depend on it.
	ready := make(chan struct{})
	go func() {
		defer close(ready)
		if m.ready == nil {
			return
		}
		if err := m.ready(initReadyTimeout); err != nil {
			d.log.Warn("container init readiness", "container_id", r.ID, "err", err)
		}
		trace.Mark("pierd", "start: init ready")
	}()
	// Ordered, not durable: a host crash ends the run this records anyway.
	err = d.md.UpdateOrdered(containerKind, r.ID, &r, func() error {
		r.State, r.Pid, r.MonitorPid, r.Mounted = container.StateRunning, m.containerPid, m.pid, true
		r.ExitCode, r.OOMKilled, r.Error = 0, false, ""
		r.StartedAt, r.FinishedAt = time.Now().UTC(), time.Time{}
		return nil
	})
	trace.Mark("pierd", "start: record written")
	<-ready
	if err == nil {
		d.emitContainer(r, "start")
		d.healthStart(r)
	}
	trace.Mark("pierd", "start: recorded")
	go func() {
		if werr := m.wait(); werr != nil {
			d.log.Warn("container monitor", "container_id", r.ID, "err", werr)
		}
		d.finish(r.ID, w)
	}()
	return err
}

// mountRun mounts container r's rootfs and /dev/shm and makes its
// working directory; on failure it unmounts again.
func (d *Daemon) mountRun(ctx context.Context, r containerRecord, p ctrPaths) error {
	if err := d.seam.launch.mountRootfs(r.ID, p.rootfs, r.HostConfig.AutoRemove); err != nil {
		return fmt.Errorf("container %s: %w", r.ID, err)
	}
	err := d.mountShm(r, p)
	if err == nil {
		err = makeWorkdir(p)
		if err != nil {
			d.unmountShm(p)
		}
	}
	if err != nil {
		_ = d.seam.launch.unmountRootfs(p.rootfs)
		return err
	}
	trace.Mark("pierd", "start: rootfs, shm, workdir")
	if r.StartedAt.IsZero() {
		// dockerd fills empty volumes from the image when it creates the
		// container; pier's rootfs is first mounted here.
		if err := d.populateVolumes(ctx, r, p.rootfs); err != nil {
			d.unmountShm(p)
			_ = d.seam.launch.unmountRootfs(p.rootfs)
			return err
		}
	}
	return nil
}

// netPrep is a container's network as the start found it: its view for
// the network controller, and whether its interfaces are still to be
// wired (network.Controller.PrepareContainer), or why it failed (nothing
// is then left of it).
type netPrep struct {
	view network.Container
	wire bool
	err  error
}

// prepareNetwork makes container r's network namespace in the
// background; the channel gives the outcome.
func (d *Daemon) prepareNetwork(ctx context.Context, r containerRecord) <-chan netPrep {
	// The links' addresses go into the /etc/hosts written at the attach
	// (not in netView, which the controller calls back under its own lock).
	v := d.netView(r)
	v.HostConfig = d.withLinkHosts(v.HostConfig)
	c := make(chan netPrep, 1)
	go func() {
		wire, err := d.nets.PrepareContainer(ctx, v)
		c <- netPrep{view: v, wire: wire, err: err}
	}()
	return c
}

// launch starts the container's monitor, which creates and starts the
// container, and wires its network (np, whose namespace is made) while
// the monitor creates it: the container waits at a start gate until its
// interfaces are up (monitor's gate.go). On failure it disconnects again.
func (d *Daemon) launch(ctx context.Context, r *containerRecord, p ctrPaths, np netPrep) (monitorProc, *exitWaiter, error) {
	cfg, err := d.monitorConfig(*r, p)
	var gate *monitor.StartGate
	if err == nil && np.wire {
		gate, err = monitor.NewStartGate(filepath.Join(p.run, "start.gate"))
	}
	if err != nil {
		d.networkStop(*r)
		return monitorProc{}, nil, err
	}
	netErr := make(chan error, 1)
	if gate != nil {
		cfg.StartGate = gate.Path()
		go func() {
			err := d.nets.AttachContainer(np.view)
			if err == nil {
				err = gate.Open()
			}
			if err != nil {
				gate.Close() // the monitor aborts: nothing runs
			}
			trace.Mark("pierd", "start: network")
			netErr <- err
		}()
	} else {
		netErr <- nil
	}
	w := d.exitOf(r.ID)
	m, err := d.seam.launch.startMonitor(p.monitorConfig, cfg)
	if nerr := <-netErr; nerr != nil {
		err = nerr // the monitor's is only "start gate closed"
	}
	if gate != nil {
		gate.Close()
	}
	if err == nil {
		return m, w, nil
	}
	d.networkStop(*r)
	return monitorProc{}, nil, err
}

// startFailed records a start that failed as dockerd does: exit code 127
// (command not found), 126 (not executable) or 128, and the error; an
// AutoRemove container is removed (`docker run --rm` waits for that), and
// whoever waits for the end of this run wakes up.
func (d *Daemon) startFailed(r containerRecord, startErr error) {
	msg := startErr.Error()
	code := 128
	switch {
	case strings.Contains(msg, "executable file not found"), strings.Contains(msg, "no such file or directory"):
		code = 127
	case strings.Contains(msg, "permission denied"), strings.Contains(msg, "is a directory"):
		code = 126
	}
	if err := d.md.Update(containerKind, r.ID, &r, func() error {
		r.ExitCode, r.Error = code, msg
		return nil
	}); err != nil {
		d.log.Warn("record failed start", "container_id", r.ID, "err", err)
	}
	if r.HostConfig.AutoRemove {
		if err := d.ContainerRemove(context.Background(), r.ID, true); err != nil {
			d.log.Warn("auto-remove after a failed start", "container_id", r.ID, "err", err)
		}
	}
	d.exitMu.Lock()
	w, ok := d.exits[r.ID]
	delete(d.exits, r.ID)
	d.exitMu.Unlock()
	if ok {
		w.code, w.err = code, msg
		close(w.done)
	}
}

// finish records the end its monitor wrote, unmounts the rootfs, removes
// an AutoRemove container and wakes the waiters.
func (d *Daemon) finish(id string, w *exitWaiter) {
	trace.Mark("pierd", "finish: monitor reaped")
	p := d.paths(id)
	st, err := monitor.ReadStatus(p.status)
	if err != nil {
		st = monitor.Status{ExitCode: 255, FinishedAt: time.Now().UTC(), Error: err.Error()}
	}
	d.healthStop(id)
	// The network's teardown (veth, addresses, namespace, endpoint
	// records) needs only the container's configuration: it runs while
	// the end is recorded and the rootfs unmounted.
	// A record of its own: the update below decodes into r, and decoding
	// into a struct reuses the maps and structs its pointers hold.
	netDone := make(chan struct{})
	var r0 containerRecord
	if err := d.md.Get(containerKind, id, &r0); err == nil {
		go func() {
			defer close(netDone)
			if r0.HostConfig != nil && r0.HostConfig.AutoRemove {
				d.nets.StopRemovedContainer(d.netView(r0))
			} else {
				d.networkStop(r0)
			}
			trace.Mark("pierd", "finish: network stopped")
		}()
	} else {
		close(netDone)
	}
	if r0.HostConfig != nil && r0.HostConfig.AutoRemove {
		d.finishRemove(r0, st, p, netDone)
	} else {
		d.finishRecord(id, st, p, netDone)
	}
	d.exitMu.Lock()
	if d.exits[id] == w {
		delete(d.exits, id)
	}
	d.exitMu.Unlock()
	w.code, w.err = st.ExitCode, st.Error
	close(w.done)
}

// finishRecord records the end st of container id and unmounts its
// rootfs; a restart policy then starts it again.
func (d *Daemon) finishRecord(id string, st monitor.Status, p ctrPaths, netDone <-chan struct{}) {
	var r containerRecord
	uerr := d.md.Update(containerKind, id, &r, func() error {
		r.State, r.Pid, r.MonitorPid = container.StateExited, 0, 0
		r.ExitCode, r.OOMKilled, r.Error, r.FinishedAt = st.ExitCode, st.OOMKilled, st.Error, st.FinishedAt
		if r.Mounted {
			if err := d.seam.launch.unmountRootfs(p.rootfs); err != nil {
				d.log.Warn("unmount rootfs", "container_id", id, "err", err)
			}
			r.Mounted = false
		}
		d.unmountShm(p)
		return nil
	})
	trace.Mark("pierd", "finish: recorded, unmounted")
	<-netDone
	if uerr == nil {
		d.emitDie(r)
		d.maybeRestart(r)
	}
}

// ContainerWait blocks until the container is in condition ("not-running",
// the default, "next-exit" or "removed") and returns its exit code.
func (d *Daemon) ContainerWait(ctx context.Context, ref string, condition container.WaitCondition) (container.WaitResponse, error) {
	r, err := d.lookup(ref)
	if err != nil {
		return container.WaitResponse{}, err
	}
	w := d.exitOf(r.ID)
	if condition != container.WaitConditionNextExit && condition != container.WaitConditionRemoved {
		// Read again: it may have ended between lookup and exitOf.
		if err := d.md.Get(containerKind, r.ID, &r); err == nil && r.State != container.StateRunning {
			return container.WaitResponse{StatusCode: int64(r.ExitCode)}, nil
		}
	}
	select {
	case <-w.done:
	case <-ctx.Done():
		return container.WaitResponse{}, ctx.Err()
	}
	resp := container.WaitResponse{StatusCode: int64(w.code)}
	if w.err != "" {
		resp.Error = &container.WaitExitError{Message: w.err}
	}
	return resp, nil
}

// ContainerKill sends sig (a name or number; "" is SIGKILL) to the
// container's init through the runtime.
func (d *Daemon) ContainerKill(ctx context.Context, ref, sig string) error {
	r, err := d.lookup(ref)
	if err != nil {
		return err
	}
	if r.State != container.StateRunning {
		return fmt.Errorf("Container %s is not running: %w", r.ID, errdefs.ErrNotRunning)
	}
	if sig == "" {
		sig = "KILL"
	}
	// A SIGKILL is the user's stop, which no restart policy undoes; other
	// signals (a HUP to reload, say) leave the policy as it was.
	s := strings.TrimPrefix(strings.ToUpper(sig), "SIG")
	isKill := s == "KILL" || s == "9"
	if isKill {
		d.markStoppedByUser(r.ID)
	}
	w, running := d.exitOfRunning(r.ID)
	d.emitContainer(r, "kill", "signal", sig)
	if err := d.kill(ctx, r.ID, sig); err != nil || !isKill || !running {
		return err
	}
	// As dockerd: a SIGKILL returns once it took effect, so that the
	// rm a client sends next does not find the container running.
	select {
	case <-w.done:
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(sigkillWait):
	}
	return nil
}

// sigkillWait bounds how long kill waits for a SIGKILL to end the container.
const sigkillWait = 10 * time.Second

// kill signals id through its runtime, then thaws it if it is paused.
func (d *Daemon) kill(ctx context.Context, id, sig string) error {
	if err := d.runtimeOf(id).Kill(ctx, id, sig); err != nil {
		return err
	}
	return d.thawAfterSignal(ctx, id)
}

// ContainerStop sends the stop signal, then SIGKILL after timeout (nil:
// the container's own, default 10 s; negative: forever). Stopping a
// container that does not run is errdefs.ErrNotRunning (the API's 304).
func (d *Daemon) ContainerStop(ctx context.Context, ref string, timeout *int) error {
	r, err := d.lookup(ref)
	if err != nil {
		return err
	}
	d.markStoppedByUser(r.ID)
	if r.State != container.StateRunning {
		return fmt.Errorf("container %s: %w", r.ID, errdefs.ErrNotRunning)
	}
	wait := r.StopTimeout
	if timeout != nil {
		wait = time.Duration(*timeout) * time.Second
	}
	w, running := d.exitOfRunning(r.ID)
	if !running {
		return nil
	}
	if err := d.kill(ctx, r.ID, r.StopSignal); err != nil {
		d.log.Warn("stop signal", "container_id", r.ID, "err", err)
	}
	var after <-chan time.Time
	if wait >= 0 {
		after = time.After(wait)
	}
	select {
	case <-w.done:
		return nil
	case <-after:
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := d.kill(ctx, r.ID, "KILL"); err != nil {
		d.log.Warn("stop: SIGKILL", "container_id", r.ID, "err", err)
	}
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ContainerRemove deletes a container that does not run; force kills a
// running one first.
func (d *Daemon) ContainerRemove(ctx context.Context, ref string, force bool) error {
	r, err := d.lookup(ref)
	if err != nil {
		return err
	}
	if !force {
		if err := d.refuseRestarting(r); err != nil {
			return err
		}
	} else if d.restarting(r) {
		d.markStoppedByUser(r.ID) // so the pending restart does not start it
	}
	if r.State == container.StateRunning {
		if !force {
			// dockerd 20.10's text, which clients (docker-py) match.
			return errdefs.Newf(errdefs.ErrConflict, "You cannot remove a running container %s. Stop the container before attempting removal or force remove", r.ID)
		}
		w, running := d.exitOfRunning(r.ID)
		d.markRemoving(r) // so a restart policy cannot race the removal
		if err := d.kill(ctx, r.ID, "KILL"); err != nil {
			d.log.Warn("remove: SIGKILL", "container_id", r.ID, "err", err)
		}
		if running {
			select {
			case <-w.done:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if r.HostConfig.AutoRemove {
			return nil // finish removed it
		}
		if err := d.md.Get(containerKind, r.ID, &r); err != nil {
			return err
		}
	}
	return d.removeStopped(r)
}

// adoptContainers settles the records of containers that were running
// when the daemon last stopped: an end already written is recorded, a
// live monitor is watched until it writes one, and a container whose
// monitor is gone without a word has ended unknown.
func (d *Daemon) adoptContainers() error {
	recs, err := d.containerRecords()
	if err != nil {
		return err
	}
	for _, r := range recs {
		if r.State != container.StateRunning {
			continue
		}
		p := d.paths(r.ID)
		w := d.exitOf(r.ID)
		if _, err := os.Stat(p.status); err == nil || monitorGone(r, p) {
			d.finish(r.ID, w)
			continue
		}
		go func() {
			for alive(r.MonitorPid) {
				if _, err := os.Stat(p.status); err == nil {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			d.finish(r.ID, w)
		}()
	}
	return nil
}

// alive reports whether pid is a live process (not a zombie's reuse check:
// the monitor's pid file and status settle that).
func alive(pid int) bool { return sys.ProcessExists(pid) }
