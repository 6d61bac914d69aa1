package runtime

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/trace"
)

// Run is `run`: create and start, and unless detach, stay in the
// foreground like a shell's job — stdio passed through (or a pty proxied
// when the config wants a terminal and no console socket was given),
// signals forwarded — then delete the container unless keep, and return
// its exit status.
func (r *Runtime) Run(o CreateOpts, detach, keep bool) (int, error) {
	spec, err := LoadSpec(o.Bundle)
	if err != nil {
		return -1, err
	}
	var con *ConsoleProxy
	if spec.Process != nil && spec.Process.Terminal && o.ConsoleSocket == "" {
		if detach {
			return -1, errors.New("process.terminal is true: run -d needs --console-socket to hand the terminal to")
		}
		if con, err = NewConsoleProxy(); err != nil {
			return -1, err
		}
		defer con.Close()
		o.ConsoleSocket = con.Path
	}
	// Signals that arrive while the container is being made are kept for
	// it rather than acted on by the runtime.
	f := &forwarder{pidfd: -1}
	if !detach {
		f = r.catchSignals(con != nil)
		defer f.stop()
	}
	o.spec = spec
	t0 := time.Now()
	c, err := r.Create(o)
	if err != nil {
		return -1, err
	}
	f.caught() // before the program runs: none of its signals is lost
	if err := r.Start(o.ID); err != nil {
		return -1, errors.Join(err, r.deleteIfThere(o.ID))
	}
	r.Log.Debug("started", "container_id", o.ID, "elapsed", time.Since(t0))
	if detach {
		return 0, nil
	}
	if con != nil {
		if err := con.Attach(); err != nil {
			return -1, errors.Join(err, r.deleteIfThere(o.ID))
		}
		defer con.Restore()
	}
	if err := f.forward(c.Pid); err != nil {
		killWait(c.Pid)
		return -1, errors.Join(err, r.deleteIfThere(o.ID))
	}
	trace.Mark("runtime", "started; waiting")
	code := f.wait(c.Pid, con)
	trace.Mark("runtime", "container exited")
	r.Log.Debug("exited", "container_id", o.ID, "elapsed", time.Since(t0))
	if !keep {
		if err := r.Delete(o.ID, true); err != nil {
			return code, err
		}
	}
	r.Log.Debug("deleted", "container_id", o.ID, "elapsed", time.Since(t0))
	return code, nil
}

// deleteIfThere force-deletes a container that failed to start; one that
// is gone already (a failed prestart hook deletes it) is no error.
func (r *Runtime) deleteIfThere(id string) error {
	if err := r.Delete(id, true); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
		return err
	}
	return nil
}

// ExecForeground is `exec` without -d: the process's status is returned
// once it exits, with signals forwarded and the terminal proxied as in Run.
func (r *Runtime) ExecForeground(id string, o ExecOpts) (int, error) {
	var con *ConsoleProxy
	var err error
	if o.Process.Terminal && o.ConsoleSocket == "" {
		if con, err = NewConsoleProxy(); err != nil {
			return -1, err
		}
		defer con.Close()
		o.ConsoleSocket = con.Path
	}
	f := r.catchSignals(con != nil)
	defer f.stop()
	pid, err := r.Exec(id, o)
	if err != nil {
		return -1, err
	}
	f.caught()
	if con != nil {
		if err := con.Attach(); err != nil {
			killWait(pid)
			return -1, err
		}
		defer con.Restore()
	}
	if err := f.forward(pid); err != nil {
		killWait(pid)
		return -1, err
	}
	return f.wait(pid, con), nil
}

// WaitForwarding waits for our child pid while passing the signals we get
// on to it. SIGCHLD is ours, SIGURG the Go scheduler's, and SIGWINCH
// resizes the terminal instead.
func WaitForwarding(pid int, sigs chan os.Signal, con *ConsoleProxy) int {
	done := make(chan int, 1)
	go func() {
		code, err := Wait(pid)
		if err != nil {
			fmt.Fprintf(os.Stderr, "pier-runtime: %v\n", err)
		}
		done <- code
	}()
	for {
		select {
		case code := <-done:
			return code
		case s := <-sigs:
			sig := s.(unix.Signal)
			switch sig {
			case unix.SIGCHLD, unix.SIGURG, unix.SIGPIPE:
			case unix.SIGWINCH:
				if con != nil {
					con.Resize()
				}
			default:
				_ = unix.Kill(pid, sig)
			}
		}
	}
}
