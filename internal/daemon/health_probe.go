package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// A probe runs through `<runtime> exec` like `docker exec`, in a process
// group of its own: the runtime is started with Setpgid, and
// pier-runtime's exec'd process (and so the test's children, `sleep`
// under `sh -c`) inherits the group across the pid namespace. On a
// timeout, or when the container's check is stopped, every member of the
// group but the runtime gets SIGKILL: the runtime then reaps the probe it
// started and exits, where killing it too would leave the probe a zombie
// of the host's init. What was inside the container and lost its parent
// goes to the container's pid 1 (pier-init by default reaps it). runc and
// crun make the exec'd process a session leader instead, so its own
// group, read from the pid file, is killed the same way. Only a probe
// that starts a session of its own escapes, as it would dockerd's.

// healthProbe runs hc's command once in container r and reports it as
// dockerd does: exit code 0 healthy, anything else a failure, -1 for a
// probe that exceeded the timeout or could not run.
func (d *Daemon) healthProbe(ctx context.Context, r containerRecord, hc healthCheck) *container.HealthcheckResult {
	res := &container.HealthcheckResult{Start: time.Now()}
	out := &probeOutput{}
	code, timedOut, err := d.probeExec(ctx, r, hc, out)
	res.End, res.ExitCode, res.Output = time.Now(), code, out.String()
	switch {
	case err != nil:
		res.ExitCode, res.Output = -1, err.Error()
	case timedOut:
		res.ExitCode = -1
		res.Output = fmt.Sprintf("Health check exceeded timeout (%v)", hc.Timeout)
		if o := out.String(); o != "" {
			res.Output += ": " + o
		}
	}
	return res
}

// probeExec runs the probe with its output to out and returns its exit
// status, killing its process group when ctx ends or hc.Timeout passes.
// Like dockerd, it publishes the exec_create, exec_start and exec_die
// events of the probe.
func (d *Daemon) probeExec(ctx context.Context, r containerRecord, hc healthCheck, out *probeOutput) (int, bool, error) {
	execID := newContainerID()
	dir := filepath.Join(d.paths(r.ID).dir, "exec")
	procFile, pidFile := filepath.Join(dir, "health-"+execID+".json"), filepath.Join(dir, "health-"+execID+".pid")
	defer os.Remove(procFile)
	defer os.Remove(pidFile)
	if err := d.writeProbeProcess(r, hc.Cmd, procFile); err != nil {
		return -1, false, err
	}
	cmd := d.runtimeCmd(context.Background(), r.ID, "exec", "-p", procFile, "--pid-file", pidFile, r.ID)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stdout, cmd.Stderr = out, out
	// A process that left the group and still holds the output pipe must
	// not hold the probe up.
	cmd.WaitDelay = time.Second
	line := strings.Join(hc.Cmd, " ")
	d.emitContainer(r, events.Action(string(events.ActionExecCreate)+": "+line), "execID", execID)
	if err := cmd.Start(); err != nil {
		return -1, false, fmt.Errorf("health check of %s: %w", r.ID, err)
	}
	d.emitContainer(r, events.Action(string(events.ActionExecStart)+": "+line), "execID", execID)
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	timer := time.NewTimer(hc.Timeout)
	defer timer.Stop()
	timedOut := false
	select {
	case <-waited:
	case <-timer.C:
		timedOut = true
	case <-ctx.Done():
	}
	if timedOut || ctx.Err() != nil {
		killProbe(cmd.Process.Pid, pidFile)
		select {
		case <-waited:
		case <-time.After(2 * time.Second):
			// The runtime did not end with its probe: the whole group goes.
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-waited
		}
	}
	// The state, not Wait's error: an output pipe still held past
	// WaitDelay would make an error of a probe that passed.
	code := probeExitCode(cmd.ProcessState)
	d.emitContainer(r, events.ActionExecDie, "execID", execID, "exitCode", strconv.Itoa(code))
	return code, timedOut, nil
}

// writeProbeProcess writes the OCI process of the probe: the container's
// own (user, environment, working directory, capabilities) running cmd.
func (d *Daemon) writeProbeProcess(r containerRecord, cmd []string, procFile string) error {
	b, err := os.ReadFile(d.paths(r.ID).config)
	var spec specs.Spec
	if err == nil {
		err = json.Unmarshal(b, &spec)
	}
	if err == nil && spec.Process == nil {
		err = errors.New("no process")
	}
	if err != nil {
		return fmt.Errorf("health check of %s: spec: %w", r.ID, err)
	}
	proc := execProcess(spec.Process, container.ExecCreateRequest{Cmd: cmd}, nil)
	if err := os.MkdirAll(filepath.Dir(procFile), 0o700); err != nil {
		return fmt.Errorf("health check of %s: %w", r.ID, err)
	}
	if b, err = json.Marshal(proc); err == nil {
		err = os.WriteFile(procFile, b, 0o600)
	}
	if err != nil {
		return fmt.Errorf("health check of %s: process file: %w", r.ID, err)
	}
	return nil
}

// killProbe kills the probe's process group but the runtime (whose pid
// names the group and, not reaped yet, cannot name another), and the
// group the probe leads if it leads one.
func killProbe(runtimePid int, pidFile string) {
	killGroup(runtimePid, runtimePid)
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 || pid == runtimePid {
		return
	}
	if pgrp, _ := procGroup(pid); pgrp == pid {
		killGroup(pid, 0)
	}
}

// killGroup SIGKILLs the live members of process group pgid but spare,
// again while any forked meanwhile is left.
func killGroup(pgid, spare int) {
	for range 10 {
		members := groupMembers(pgid, spare)
		if len(members) == 0 {
			return
		}
		for _, p := range members {
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
	}
}

// groupMembers are the processes of group pgid that are not zombies,
// spare aside, from /proc.
func groupMembers(pgid, spare int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == spare {
			continue
		}
		if pgrp, state := procGroup(pid); pgrp == pgid && state != "Z" {
			out = append(out, pid)
		}
	}
	return out
}

// procGroup is pid's process group and state, from /proc/PID/stat
// ("pid (comm) state ppid pgrp ..."); 0 when it cannot be read.
func procGroup(pid int) (int, string) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, ""
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, ""
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 3 {
		return 0, ""
	}
	pgrp, _ := strconv.Atoi(f[2])
	return pgrp, f[0]
}

// probeExitCode is the probe's status from the runtime's, which passes
// the process's exit code on; -1 when the runtime was not waited for.
func probeExitCode(ps *os.ProcessState) int {
	if ps == nil {
		return -1
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// probeOutput keeps the first healthOutputMax bytes of a probe's stdout
// and stderr, as dockerd does, with "..." when there was more.
type probeOutput struct {
	mu        sync.Mutex
	buf       bytes.Buffer // Guarded by mu.
	truncated bool         // Guarded by mu.
}

func (o *probeOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	keep := min(healthOutputMax-o.buf.Len(), len(p))
	if keep > 0 {
		o.buf.Write(p[:keep])
	}
	if keep < len(p) {
		o.truncated = true
	}
	return len(p), nil
}

func (o *probeOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.truncated {
		return o.buf.String() + "..."
	}
	return o.buf.String()
}
