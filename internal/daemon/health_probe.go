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
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/pier-engine/pier/internal/ociruntime"
)

// A probe runs through `<runtime> exec` like `docker exec`, in a process
// group of its own (ociruntime.ExecOpts.Group): on a timeout, or when the
// container's check is stopped, the probe and what it started are killed
// (ociruntime's Process.Kill says how). Only a probe that starts a session
// of its own escapes, as it would dockerd's.

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
	dir := filepath.Join(d.paths(r.ID).run, "exec")
	procFile, pidFile := filepath.Join(dir, "health-"+execID+".json"), filepath.Join(dir, "health-"+execID+".pid")
	defer os.Remove(pidFile)
	proc, err := d.probeProcess(r, hc.Cmd, dir)
	if err != nil {
		return -1, false, err
	}
	o := ociruntime.ExecOpts{
		Process: proc, ProcessFile: procFile, PidFile: pidFile, Stdout: out, Stderr: out, Group: true,
		// A process that left the group and still holds the output pipe
		// must not hold the probe up.
		WaitDelay: time.Second,
	}
	line := strings.Join(hc.Cmd, " ")
	d.emitContainer(r, events.Action(string(events.ActionExecCreate)+": "+line), "execID", execID)
	p, err := d.runtimeOf(r.ID).Exec(context.Background(), r.ID, o)
	if err != nil {
		return -1, false, fmt.Errorf("health check of %s: %w", r.ID, err)
	}
	d.emitContainer(r, events.Action(string(events.ActionExecStart)+": "+line), "execID", execID)
	// The status, not Wait's error: an output pipe still held past
	// WaitDelay would make an error of a probe that passed.
	code := -1
	waited := make(chan struct{})
	go func() { code, _ = p.Wait(); close(waited) }()
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
		p.Kill()
		<-waited
	}
	d.emitContainer(r, events.ActionExecDie, "execID", execID, "exitCode", strconv.Itoa(code))
	return code, timedOut, nil
}

// probeProcess is the OCI process of the probe: the container's own
// (user, environment, working directory, capabilities) running cmd. It
// makes dir, where the runtime's files of the probe go.
func (d *Daemon) probeProcess(r containerRecord, cmd []string, dir string) (*specs.Process, error) {
	b, err := os.ReadFile(d.paths(r.ID).config)
	var spec specs.Spec
	if err == nil {
		err = json.Unmarshal(b, &spec)
	}
	if err == nil && spec.Process == nil {
		err = errors.New("no process")
	}
	if err != nil {
		return nil, fmt.Errorf("health check of %s: spec: %w", r.ID, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("health check of %s: %w", r.ID, err)
	}
	return execProcess(spec.Process, container.ExecCreateRequest{Cmd: cmd}, nil), nil
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
