package runtime

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/hooks"
	"github.com/pier-engine/pier/internal/trace"
)

// Record returns what the runtime knows of a container, with its status.
func (r *Runtime) Record(id string) (*Record, specs.ContainerState, error) {
	rec, err := r.load(id)
	if err != nil {
		return nil, "", err
	}
	return rec, r.status(rec), nil
}

// List returns every container under the root, sorted by id.
func (r *Runtime) List() ([]*Record, error) {
	ents, err := os.ReadDir(r.Root)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", r.Root, err)
	}
	var out []*Record
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		rec, err := r.load(e.Name())
		if err != nil {
			continue // a container being created or deleted right now
		}
		out = append(out, rec)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Start runs the user's program of a created container: it releases the
// container process blocked on the exec fifo, waits until that process has
// exec'd (the fifo loses its last reader), then runs the poststart hooks.
func (r *Runtime) Start(id string) error {
	trace.Mark("runtime", "start")
	rec, unlock, err := r.loadLocked(id)
	if err != nil {
		return err
	}
	defer unlock()
	trace.Mark("runtime", "state loaded, locked")
	if err := can(opStart, id, r.status(rec)); err != nil {
		return err
	}
	if rec.Spec.Process == nil {
		err := fmt.Errorf("container %s: config has no process to start: %w", id, errdefs.ErrInvalidArgument)
		return errors.Join(err, r.killAndWait(rec))
	}
	// prestart (deprecated) runs here, in the runtime's namespaces, after
	// `start` is called and before the program: the moment runtime-spec
	// 1.0 gave it and the runtime-tools suite checks. A failure stops the
	// container and goes on to delete, as the lifecycle says.
	if h := rec.Spec.Hooks; h != nil && len(h.Prestart) > 0 {
		if err := hooks.Run("prestart", h.Prestart, r.ociState(rec)); err != nil {
			return errors.Join(err, r.delete(rec, true))
		}
	}
	path := filepath.Join(r.dir(id), fifoName)
	f, err := os.OpenFile(path, os.O_WRONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, unix.ENXIO) {
			return fmt.Errorf("container %s: its process is gone: %w", id, errdefs.ErrNotRunning)
		}
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	if _, err := f.Write([]byte{0}); err != nil {
		return fmt.Errorf("start container %s: %w", id, err)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("start container %s: %w", id, err)
	}
	trace.Mark("runtime", "exec fifo written")
	waitNoReader(f)
	trace.Mark("runtime", "program exec'd (fifo has no reader)")
	if rec.Spec.Hooks != nil {
		// The state as of the start, as runc gives it: the program may
		// have exited already (`true`), and poststart hooks are told that
		// it started.
		state := r.ociState(rec)
		state.Status, state.Pid = StatusRunning, rec.Pid
		for _, err := range hooks.RunAll("poststart", rec.Spec.Hooks.Poststart, state) {
			r.Log.Warn("poststart hook failed", "container_id", id, "err", err)
		}
	}
	return nil
}

// waitNoReader blocks until every reader of the fifo is gone: the
// container process closes its end (close-on-exec) when execve succeeds,
// or exits when it fails.
func waitNoReader(f *os.File) {
	fds := []unix.PollFd{{Fd: int32(f.Fd()), Events: 0}}
	for {
		n, err := unix.Poll(fds, -1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || n > 0 && fds[0].Revents&(unix.POLLERR|unix.POLLHUP) != 0 {
			return
		}
	}
}

// Kill sends sig to the container's init, or with all to every process in
// its cgroup.
func (r *Runtime) Kill(id string, sig unix.Signal, all bool) error {
	rec, unlock, err := r.loadLocked(id)
	if err != nil {
		return err
	}
	defer unlock()
	if st := r.status(rec); !(all && st == StatusStopped) {
		if err := can(opKill, id, st); err != nil {
			return err
		}
	}
	if all {
		cg, err := r.cgroup(rec)
		if err != nil {
			return err
		}
		return cg.KillAll(sig)
	}
	return signalInit(rec, sig)
}

// Delete removes a stopped container: its cgroup, then the poststop hooks,
// then its state. With force a live container is killed first; without, a
// container that is not stopped is an error and stays untouched.
func (r *Runtime) Delete(id string, force bool) error {
	trace.Mark("runtime", "delete")
	rec, unlock, err := r.loadLocked(id)
	if err != nil {
		return err
	}
	defer unlock()
	defer trace.Mark("runtime", "deleted")
	return r.delete(rec, force)
}

// delete is Delete with the container's lock held.
func (r *Runtime) delete(rec *Record, force bool) error {
	id := rec.ID
	if err := can(opDelete, id, r.status(rec)); err != nil {
		if !force {
			return err
		}
		if err := r.killAndWait(rec); err != nil {
			return err
		}
	}
	cg, err := r.cgroup(rec)
	if err != nil {
		return err
	}
	if err := cg.Destroy(); err != nil {
		return fmt.Errorf("delete %s: %w", id, err)
	}
	trace.Mark("runtime", "cgroup removed")
	if rec.Spec.Hooks != nil {
		state := r.ociState(rec)
		state.Status = StatusStopped
		for _, err := range hooks.RunAll("poststop", rec.Spec.Hooks.Poststop, state) {
			r.Log.Warn("poststop hook failed", "container_id", id, "err", err)
		}
	}
	if err := os.RemoveAll(r.dir(id)); err != nil {
		return fmt.Errorf("delete state of %s: %w", id, err)
	}
	return nil
}

func (r *Runtime) killAndWait(rec *Record) error {
	cg, err := r.cgroup(rec)
	if err != nil {
		return err
	}
	// A frozen process cannot die; SIGKILL is queued until the thaw.
	_ = cg.KillAll(unix.SIGKILL)
	_ = cg.Thaw()
	_ = signalInit(rec, unix.SIGKILL)
	deadline := time.Now().Add(10 * time.Second)
	for alive(rec.Pid, rec.PidStartTime) {
		if time.Now().After(deadline) {
			return fmt.Errorf("container %s: init %d survived SIGKILL for 10s", rec.ID, rec.Pid)
		}
		time.Sleep(2 * time.Millisecond)
	}
	return nil
}

// Pause freezes every process of the container.
func (r *Runtime) Pause(id string) error {
	rec, unlock, err := r.loadLocked(id)
	if err != nil {
		return err
	}
	defer unlock()
	if err := can(opPause, id, r.status(rec)); err != nil {
		return err
	}
	cg, err := r.cgroup(rec)
	if err != nil {
		return err
	}
	return cg.Freeze()
}

// Resume thaws a paused container.
func (r *Runtime) Resume(id string) error {
	rec, unlock, err := r.loadLocked(id)
	if err != nil {
		return err
	}
	defer unlock()
	if err := can(opResume, id, r.status(rec)); err != nil {
		return err
	}
	cg, err := r.cgroup(rec)
	if err != nil {
		return err
	}
	return cg.Thaw()
}

// Update changes the resources of a live container and records them.
func (r *Runtime) Update(id string, res *specs.LinuxResources) error {
	rec, unlock, err := r.loadLocked(id)
	if err != nil {
		return err
	}
	defer unlock()
	if err := can(opUpdate, id, r.status(rec)); err != nil {
		return err
	}
	cg, err := r.cgroup(rec)
	if err != nil {
		return err
	}
	if err := cg.Validate(res); err != nil {
		return fmt.Errorf("%w: %w", err, errdefs.ErrInvalidArgument)
	}
	if err := cg.Set(res); err != nil {
		return err
	}
	// A new spec, not an edit of the loaded one: a record recalled from
	// this process's last save (reccache.go) shares its spec.
	spec, linux := *rec.Spec, *rec.Spec.Linux
	linux.Resources = mergeResources(linux.Resources, res)
	spec.Linux = &linux
	rec.Spec = &spec
	return r.save(rec)
}

// Pids lists the host pids of every process in the container's cgroup.
func (r *Runtime) Pids(id string) ([]int, error) {
	rec, err := r.load(id)
	if err != nil {
		return nil, err
	}
	cg, err := r.cgroup(rec)
	if err != nil {
		return nil, err
	}
	return cg.Procs()
}
