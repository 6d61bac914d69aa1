package runtime

import (
	"errors"
	"fmt"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/nsenter"
	"github.com/pier-engine/pier/internal/syncmsg"
	"github.com/pier-engine/pier/internal/trace"
)

// ExecOpts describe a process to start in a running container.
type ExecOpts struct {
	Process       *specs.Process
	ConsoleSocket string
	PidFile       string
	PreserveFds   int
	Stdio         [3]*os.File
	// Setpgid starts the process in a new process group (the preamble's;
	// a terminal makes the process a session leader instead), for a caller
	// that kills the process with whatever it started: KillGroup.
	Setpgid bool
	// Record is the container's state when the caller has just read it
	// (the exec command does, for the process's defaults, with
	// ExecRecord), so that Exec does not read and decode it again; nil
	// makes Exec read it. Exec reads the whole state when Record came from
	// the exec record and the process needs the Go init.
	Record *Record
}

// Exec starts a process that joins every namespace and the cgroup of the
// container, with the container's seccomp filter, and returns its pid. The
// process is a child of the caller, who may Wait for it.
func (r *Runtime) Exec(id string, o ExecOpts) (int, error) {
	rec := o.Record
	if rec != nil && rec.lean && cinitFallback(&syncmsg.InitConfig{Spec: rec.Spec, Process: o.Process}) != "" {
		rec = nil // the Go init is sent the whole spec
	}
	if rec == nil || rec.ID != id {
		var err error
		if rec, err = r.load(id); err != nil {
			return 0, err
		}
		trace.Mark("runtime", "exec: state read")
	}
	if err := can(opExec, id, r.status(rec)); err != nil {
		return 0, err
	}
	if err := validateProcess(o.Process); err != nil {
		return 0, invalid(err)
	}
	if o.Process.Terminal && o.ConsoleSocket == "" {
		return 0, fmt.Errorf("process.terminal is true but no --console-socket was given: %w", errdefs.ErrInvalidArgument)
	}
	cg, err := r.cgroup(rec)
	if err != nil {
		return 0, err
	}
	opts := &spawnOpts{stdio: o.Stdio, bootstrap: execBootstrap(rec.Spec.Linux, rec.Pid), cgroup: cg, cgroupExists: true,
		exe: r.Exe, setpgid: o.Setpgid}
	if opts.preserve, err = inheritedFds(o.PreserveFds); err != nil {
		return 0, err
	}
	defer opts.closeExtra()
	consoleFd, cgroupNSFd := -1, -1
	if o.Process.Terminal {
		conn, err := dialConsole(o.ConsoleSocket)
		if err != nil {
			return 0, err
		}
		consoleFd = opts.addExtra(conn, true)
	}
	if hasNamespace(rec.Spec, specs.CgroupNamespace) {
		nsf, err := cgroupNSFile(fmt.Sprintf("/proc/%d/ns/cgroup", rec.Pid))
		if err != nil {
			return 0, err
		}
		cgroupNSFd = opts.addExtra(nsf, true)
	}
	cfg := &syncmsg.InitConfig{
		ID: id, Bundle: rec.Bundle, Rootfs: rec.Rootfs, Spec: rec.Spec, Process: o.Process, Exec: true,
		PreserveFds: o.PreserveFds, FifoFd: -1, ConsoleFd: consoleFd, CgroupNSFd: cgroupNSFd,
	}
	pp, err := chooseInit(opts, cfg, rec.Spec, r.filterOf(rec))
	if err != nil {
		return 0, invalid(err)
	}
	c, err := spawn(opts)
	if err != nil {
		return 0, err
	}
	defer c.sock.Close()
	if err := startExec(c, cfg, pp); err != nil {
		killWait(c.pid)
		return 0, fmt.Errorf("exec in %s: %w", id, err)
	}
	trace.Mark("runtime", "exec: ready")
	if o.PidFile != "" {
		if err := writePidFile(o.PidFile, c.pid); err != nil {
			killWait(c.pid)
			return 0, err
		}
	}
	return c.pid, nil
}

// startExec hands the exec'd process its plan (C init) or config (Go
// init) and waits until it is about to exec.
func startExec(c *child, cfg *syncmsg.InitConfig, pp *procPlan) error {
	if pp != nil {
		if err := sendPlan(c, execPlan(cfg, pp)); err != nil {
			return err
		}
		trace.Mark("runtime", "exec: plan sent")
		return expectC(c, nsenter.MsgReady)
	}
	if err := c.conn.Send(syncmsg.Message{Type: syncmsg.TypeConfig, Config: cfg}); err != nil {
		return err
	}
	trace.Mark("runtime", "exec: config sent")
	_, err := c.conn.Expect(syncmsg.TypeReady)
	return err
}

// Wait reaps a child of the caller (a container's init started by `run`,
// or an exec'd process) and returns its exit status the way a shell shows
// it: the code, or 128+N for death by signal N.
func Wait(pid int) (int, error) {
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(pid, &ws, 0, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return -1, fmt.Errorf("wait for %d: %w", pid, err)
		}
		break
	}
	if ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	return ws.ExitStatus(), nil
}

// KillGroup sends SIGKILL to the process group of pid, a process that Exec
// started with Setpgid, and to pid itself. It never signals the caller's
// own group.
func KillGroup(pid int) {
	if pgid, err := unix.Getpgid(pid); err == nil && pgid != unix.Getpgrp() {
		_ = unix.Kill(-pgid, unix.SIGKILL)
	}
	_ = unix.Kill(pid, unix.SIGKILL)
}
