package ociruntime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ExecOpts describe a process to start in a running container.
type ExecOpts struct {
	Process *specs.Process
	// ProcessFile is where Process is written for `exec -p`; it is
	// removed once the runtime has been waited for.
	ProcessFile string
	// PidFile receives the process's host pid once it runs.
	PidFile string
	// ConsoleSocket receives the pty master when Process.Terminal.
	ConsoleSocket  string
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Group starts the runtime in a process group of its own, which the
	// process joins (pier-runtime) or which Kill finds through PidFile
	// (runc and crun make the process a session leader): see Kill.
	Group bool
	// WaitDelay bounds the wait for the output pipes once the runtime has
	// exited (exec.Cmd's WaitDelay): a process that left the group may
	// hold them.
	WaitDelay time.Duration
}

// Process is a process started by Exec, as its caller sees it.
type Process interface {
	// Wait waits for the runtime, which exits with the process's status,
	// and returns that status as a shell shows it (128+N for a death by
	// signal N). err says the runtime could not be waited for properly;
	// code is then its status if it has one, else -1. Wait may be called
	// more than once.
	Wait() (code int, err error)
	// Kill ends the process and every process of its group, and returns
	// once the runtime has exited or been killed too.
	Kill()
}

// Exec starts o.Process in container id (`exec -p`); it returns once the
// runtime has started. The runtime's exit status is the process's.
func (c CLI) Exec(ctx context.Context, id string, o ExecOpts) (Process, error) {
	b, err := json.Marshal(o.Process)
	if err == nil {
		err = os.WriteFile(o.ProcessFile, b, 0o600)
	}
	if err != nil {
		return nil, fmt.Errorf("exec in %s: process file: %w", id, err)
	}
	verb := []string{"exec", "-p", o.ProcessFile}
	if o.PidFile != "" {
		verb = append(verb, "--pid-file", o.PidFile)
	}
	if o.ConsoleSocket != "" {
		verb = append(verb, "--console-socket", o.ConsoleSocket)
	}
	cmd := c.command(ctx, append(verb, id)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = o.Stdin, o.Stdout, o.Stderr
	cmd.WaitDelay = o.WaitDelay
	if o.Group {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	}
	if err := cmd.Start(); err != nil {
		_ = os.Remove(o.ProcessFile)
		return nil, fmt.Errorf("exec in %s: %w", id, err)
	}
	return &execProcess{cmd: cmd, opts: o, done: make(chan struct{})}, nil
}

// execProcess is the runtime of one exec.
type execProcess struct {
	cmd  *exec.Cmd
	opts ExecOpts
	once sync.Once
	done chan struct{} // closed once the runtime is waited for
	code int
	err  error
}

func (p *execProcess) Wait() (int, error) {
	p.once.Do(func() {
		err := p.cmd.Wait()
		p.code = exitStatus(p.cmd.ProcessState)
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			p.err = err // an exit status is the process's, not an error
		}
		_ = os.Remove(p.opts.ProcessFile)
		close(p.done)
	})
	<-p.done
	return p.code, p.err
}

// exitStatus is a shell's $? of ps; -1 when the runtime was not waited for.
func exitStatus(ps *os.ProcessState) int {
	if ps == nil {
		return -1
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// killWait bounds the wait for a runtime whose process was killed: it
// should reap it and exit at once.
const killWait = 2 * time.Second

// Kill kills the members of the runtime's group but the runtime itself
// (which then reaps the process it started and exits, where killing it
// too would leave that process a zombie of the host's init), and the group
// the process leads if it leads one (runc, crun). A runtime that does not
// end within killWait is killed with its whole group. What was inside the
// container and lost its parent goes to the container's pid 1. Without
// Group only the runtime is killed.
func (p *execProcess) Kill() {
	pid := p.cmd.Process.Pid
	if !p.opts.Group {
		_ = p.cmd.Process.Kill()
		return
	}
	killGroup(pid, pid)
	if leader := readPid(p.opts.PidFile); leader > 0 && leader != pid {
		if pgrp, _ := procGroup(leader); pgrp == leader {
			killGroup(leader, 0)
		}
	}
	select {
	case <-p.done:
	case <-time.After(killWait):
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
}
