package cli

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

// attachOptions are the flags attach, run and start -a share.
type attachOptions struct {
	noStdin, sigProxy bool
	detachKeys        string
}

// attachCommand is `pier attach`: docker's attach to a running container.
// The detach keys leave it running; pier then says "read escape sequence"
// and exits 1, as docker does.
func (a *app) attachCommand() *cobra.Command {
	var o attachOptions
	cmd := &cobra.Command{
		Use:   "attach [OPTIONS] CONTAINER",
		Short: "Attach local standard input, output, and error streams to a running container",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.attach(cmd.Context(), args[0], o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.noStdin, "no-stdin", false, "Do not attach STDIN")
	f.BoolVar(&o.sigProxy, "sig-proxy", true, "Proxy all received signals to the process")
	f.StringVar(&o.detachKeys, "detach-keys", "", "Override the key sequence for detaching a container")
	return cmd
}

func (a *app) attach(ctx context.Context, ref string, o attachOptions) error {
	keys, err := parseDetachKeys(o.detachKeys)
	if err != nil {
		return err
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	// Wait first, so an exit while we attach is not missed.
	wait := c.ContainerWait(context.WithoutCancel(ctx), ref, client.ContainerWaitOptions{})
	ctr, err := attachable(ctx, c, ref)
	if err != nil {
		return err
	}
	tty := ctr.Config.Tty
	if err := checkTTY(!o.noStdin, tty); err != nil {
		return err
	}
	opts := client.ContainerAttachOptions{Stream: true, Stdin: !o.noStdin && ctr.Config.OpenStdin,
		Stdout: true, Stderr: true, DetachKeys: o.detachKeys}
	if o.sigProxy && !tty {
		defer proxySignals(ctx, c, ctr.ID)()
	}
	att, err := c.ContainerAttach(ctx, ref, opts)
	if err != nil {
		return err
	}
	defer att.Close()
	// It may have stopped between the check and the attach; the stream
	// would then wait for nothing.
	if _, err := attachable(ctx, c, ref); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if tty {
		// One size off first, so a shell that is re-attached to redraws
		// its prompt, as docker does; then the real size.
		if h, w, ok := a.ttySize(); ok {
			c.ContainerResize(ctx, ctr.ID, client.ContainerResizeOptions{Height: h + 1, Width: w + 1})
		}
		a.monitorSize(ctx, a.containerResize(c, ctr.ID))
	}
	s := session{conn: att.HijackedResponse, out: a.stdout, errOut: a.stderr, tty: tty, detachKeys: keys}
	if opts.Stdin {
		s.in = os.Stdin
	}
	if err := s.stream(ctx); err != nil {
		return err
	}
	return waitStatus(ref, wait)
}

// attachable inspects ref and refuses what cannot be attached to, with
// docker's words.
func attachable(ctx context.Context, c *client.Client, ref string) (container.InspectResponse, error) {
	res, err := c.ContainerInspect(ctx, ref, client.ContainerInspectOptions{})
	if err != nil {
		return container.InspectResponse{}, err
	}
	ctr := res.Container
	switch {
	case ctr.State == nil || ctr.Config == nil:
		return ctr, fmt.Errorf("inspect %s: no state in the answer", ref)
	case ctr.State.Paused:
		return ctr, errors.New("cannot attach to a paused container, unpause it first")
	case ctr.State.Restarting:
		return ctr, errors.New("cannot attach to a restarting container, wait until it is running")
	case !ctr.State.Running:
		return ctr, errors.New("cannot attach to a stopped container, start it first")
	}
	return ctr, nil
}

func (a *app) containerResize(c *client.Client, id string) resizeFunc {
	return func(ctx context.Context, h, w uint) error {
		_, err := c.ContainerResize(ctx, id, client.ContainerResizeOptions{Height: h, Width: w})
		return err
	}
}

// waitStatus turns a wait's answer into the container's exit code.
func waitStatus(id string, wait client.ContainerWaitResult) error {
	select {
	case res := <-wait.Result:
		if res.Error != nil {
			return fmt.Errorf("wait %s: %s", id, res.Error.Message)
		}
		if res.StatusCode != 0 {
			return exitStatus(res.StatusCode)
		}
		return nil
	case err := <-wait.Error:
		return err
	}
}
