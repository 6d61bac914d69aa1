package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/pier-engine/pier/internal/trace"
)

func (a *app) runCommand() *cobra.Command {
	var (
		o      createOptions
		ao     attachOptions
		detach bool
	)
	cmd := &cobra.Command{
		Use:   "run [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short: "Create and run a new container from an image",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := o.createRequest(cmd.Flags(), args)
			if err != nil {
				return daemonFailure{err}
			}
			cfg := opts.Config
			if detach && cmd.Flags().Changed("attach") {
				return daemonFailure{errors.New("Conflicting options: -a and -d")}
			}
			if detach {
				cfg.AttachStdin, cfg.AttachStdout, cfg.AttachStderr, cfg.StdinOnce = false, false, false, false
			} else if err := checkTTY(cfg.AttachStdin, cfg.Tty); err != nil {
				return err
			}
			keys, err := parseDetachKeys(ao.detachKeys)
			if err != nil {
				return daemonFailure{err}
			}
			c, err := a.client()
			if err != nil {
				return daemonFailure{err}
			}
			trace.Mark("pier", "flags parsed")
			id, err := a.create(cmd.Context(), c, opts)
			if err != nil {
				return err
			}
			trace.Mark("pier", "created")
			if detach {
				if _, err := c.ContainerStart(cmd.Context(), id, client.ContainerStartOptions{}); err != nil {
					return startFailure(err)
				}
				_, err = fmt.Fprintln(a.stdout, id)
				return err
			}
			return a.runAttached(cmd.Context(), c, id, cfg, runAttachOptions{attachOptions: ao, keys: keys, remove: o.autoRemove})
		},
	}
	o.addFlags(cmd.Flags())
	f := cmd.Flags()
	f.BoolVarP(&detach, "detach", "d", false, "Run container in background and print container ID")
	f.BoolVar(&ao.sigProxy, "sig-proxy", true, "Proxy received signals to the process")
	f.StringVar(&ao.detachKeys, "detach-keys", "", "Override the key sequence for detaching a container")
	usageExits125(cmd)
	return cmd
}

type runAttachOptions struct {
	attachOptions
	keys   []byte
	remove bool
}

// runAttached is docker's sequence for a foreground run: attach and wait
// before start so no output and no exit is missed, then start, copy the
// streams until the container's output ends or the user detaches, and
// take the exit code from wait. With --rm the daemon removes the
// container (AutoRemove), after a failed start too, and wait's "removed"
// condition returns once it has, as docker's CLI does; a detached
// container stays until it ends.
func (a *app) runAttached(ctx context.Context, c *client.Client, id string, cfg *container.Config, o runAttachOptions) error {
	if o.sigProxy && !cfg.Tty {
		defer proxySignals(ctx, c, id)()
	}
	// The wait goes out first, on the create's connection, while the
	// attach dials its own: the two round trips overlap.
	cond := container.WaitConditionNextExit
	if o.remove {
		cond = container.WaitConditionRemoved
	}
	wait := c.ContainerWait(context.WithoutCancel(ctx), id, client.ContainerWaitOptions{Condition: cond})
	att, err := c.ContainerAttach(ctx, id, client.ContainerAttachOptions{Stream: true,
		Stdin: cfg.AttachStdin, Stdout: cfg.AttachStdout, Stderr: cfg.AttachStderr, DetachKeys: o.detachKeys})
	if err != nil {
		return daemonFailure{err}
	}
	defer att.Close()
	trace.Mark("pier", "attached")
	s := a.session(att.HijackedResponse, cfg.AttachStdin, cfg.AttachStdout, cfg.AttachStderr, cfg.Tty, o.keys)
	streamCtx, stopStream := context.WithCancel(ctx)
	defer stopStream()
	streamed := make(chan error, 1)
	go func() { streamed <- s.stream(streamCtx) }()

	if _, err := c.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
		stopStream()
		<-streamed // the terminal is restored before the error shows
		return startFailure(err)
	}
	trace.Mark("pier", "started")
	if cfg.Tty {
		a.monitorSize(streamCtx, a.containerResize(c, id))
	}
	if err := <-streamed; err != nil {
		if errors.Is(err, errDetached) {
			return nil
		}
		return fmt.Errorf("attach %s: %w", id, err)
	}
	trace.Mark("pier", "output ended")
	defer trace.Mark("pier", "wait returned")
	return waitStatus(id, wait)
}

// session builds the local ends of a hijacked stream the way docker does:
// with a tty the container's stderr arrives on the same raw stream, and
// is written to stdout.
func (a *app) session(conn client.HijackedResponse, in, out, errOut, tty bool, keys []byte) session {
	s := session{conn: conn, tty: tty, detachKeys: keys}
	if in {
		s.in = os.Stdin
	}
	if out {
		s.out = a.stdout
	}
	if errOut {
		s.errOut = a.stderr
		if tty {
			s.errOut = a.stdout
		}
	}
	return s
}

// startFailure is docker's exit code for a container that would not
// start: 127 when its command is not there, 126 when it cannot be run,
// 125 for any other failure of the daemon.
func startFailure(err error) error {
	msg := err.Error()
	code := ExitDaemon
	switch {
	case strings.Contains(msg, "executable file not found") || strings.Contains(msg, "no such file or directory"):
		code = 127
	case strings.Contains(msg, "permission denied") || strings.Contains(msg, "is a directory"):
		code = 126
	}
	return codedError{err: err, code: code}
}

// codedError prints err and exits with code.
type codedError struct {
	err  error
	code int
}

func (e codedError) Error() string { return e.err.Error() }
func (e codedError) Unwrap() error { return e.err }
func (e codedError) ExitCode() int { return e.code }
