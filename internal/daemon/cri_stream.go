package daemon

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"
	remotecommandserver "k8s.io/cri-streaming/pkg/streaming/remotecommand"
	utilexec "k8s.io/utils/exec"

	"github.com/pier-engine/pier/internal/errdefs"
)

// ExecSync runs cmd in the container and returns its output and exit
// code; past timeout seconds (0: none) it gives up with DeadlineExceeded.
func (c *CRI) ExecSync(ctx context.Context, id string, cmd []string, timeout int64) ([]byte, []byte, int32, error) {
	rec, _, err := c.criContainer(id)
	if err != nil {
		return nil, nil, 0, err
	}
	eid, err := c.d.ExecCreate(ctx, rec.ID, container.ExecCreateRequest{Cmd: cmd, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return nil, nil, 0, err
	}
	var out, errOut bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- c.d.ExecStart(context.WithoutCancel(ctx), eid, false, nil, &lockedWriter{w: &out}, &lockedWriter{w: &errOut})
	}()
	var timer <-chan time.Time
	if timeout > 0 {
		timer = time.After(time.Duration(timeout) * time.Second)
	}
	select {
	case err = <-done:
	case <-timer:
		c.killExec(eid)
		return nil, nil, 0, fmt.Errorf("exec in %s: timeout %ds exceeded: %w", id, timeout, context.DeadlineExceeded)
	case <-ctx.Done():
		c.killExec(eid)
		return nil, nil, 0, ctx.Err()
	}
	if err != nil {
		return nil, nil, 0, err
	}
	ins, err := c.d.ExecInspect(ctx, eid)
	if err != nil {
		return nil, nil, 0, err
	}
	return out.Bytes(), errOut.Bytes(), int32(exitCodeOf(ins)), nil
}

func exitCodeOf(ins container.ExecInspectResponse) int {
	if ins.ExitCode == nil {
		return -1
	}
	return *ins.ExitCode
}

// lockedWriter serialises writes to one buffer.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Exec runs cmd with the client's streams (streaming.Runtime).
func (c *CRI) Exec(ctx context.Context, id string, cmd []string, in io.Reader, out, errw io.WriteCloser, tty bool, resize <-chan remotecommandserver.TerminalSize) error {
	rec, _, err := c.criContainer(id)
	if err != nil {
		return err
	}
	eid, err := c.d.ExecCreate(ctx, rec.ID, container.ExecCreateRequest{
		Cmd: cmd, Tty: tty, AttachStdin: in != nil, AttachStdout: out != nil, AttachStderr: errw != nil,
	})
	if err != nil {
		return err
	}
	go func() {
		for sz := range resize {
			_ = c.d.ExecResize(context.Background(), eid, uint(sz.Height), uint(sz.Width))
		}
	}()
	var o, e io.Writer
	if out != nil {
		o = out
	}
	if errw != nil {
		e = errw
	}
	if err := c.d.ExecStart(ctx, eid, false, in, o, e); err != nil {
		return err
	}
	ins, err := c.d.ExecInspect(ctx, eid)
	if err != nil {
		return err
	}
	if code := exitCodeOf(ins); code != 0 {
		return utilexec.CodeExitError{Err: fmt.Errorf("command terminated with exit code %d", code), Code: code}
	}
	return nil
}

// Attach connects the client to the container's stdio (streaming.Runtime).
func (c *CRI) Attach(ctx context.Context, id string, in io.Reader, out, errw io.WriteCloser, tty bool, resize <-chan remotecommandserver.TerminalSize) error {
	rec, _, err := c.criContainer(id)
	if err != nil {
		return err
	}
	go func() {
		for sz := range resize {
			_ = c.d.ContainerResize(context.Background(), rec.ID, uint(sz.Height), uint(sz.Width))
		}
	}()
	return c.d.ContainerAttachStreams(ctx, rec.ID, false, true, "", func(bool) (io.Reader, io.Writer, io.Writer, error) {
		var o, e io.Writer
		if out != nil {
			o = out
		}
		if errw != nil {
			e = errw
		}
		return in, o, e, nil
	})
}

// PortForward copies between the stream and the pod's port. It dials the
// pod's address on its bridge (the host's loopback for hostNetwork pods).
func (c *CRI) PortForward(ctx context.Context, podID string, port int32, stream io.ReadWriteCloser) error {
	s, err := c.sandbox(podID)
	if err != nil {
		return err
	}
	ip := s.IP
	if s.HostNetwork() {
		ip = "127.0.0.1"
	}
	if ip == "" {
		return fmt.Errorf("pod sandbox %s has no address: %w", podID, errdefs.ErrConflict)
	}
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "tcp", net.JoinHostPort(ip, strconv.Itoa(int(port))))
	if err != nil {
		return fmt.Errorf("port forward to pod %s port %d: %w", podID, port, err)
	}
	defer conn.Close()
	errc := make(chan error, 2)
	go func() { _, err := io.Copy(conn, stream); errc <- err }()
	go func() { _, err := io.Copy(stream, conn); errc <- err }()
	<-errc
	return nil
}

// killExec ends an exec process that outlived its ExecSync timeout.
func (c *CRI) killExec(eid string) {
	for i := 0; i < 50; i++ {
		ins, err := c.d.ExecInspect(context.Background(), eid)
		if err != nil || !ins.Running && ins.ExitCode != nil {
			return
		}
		if ins.Pid > 0 {
			if p, err := os.FindProcess(ins.Pid); err == nil {
				_ = p.Signal(os.Kill)
			}
			c.awaitExecEnd(eid)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// awaitExecEnd waits (1 s at most) until the exec has been reaped, so that
// the client's next look finds it gone.
func (c *CRI) awaitExecEnd(eid string) {
	for i := 0; i < 100; i++ {
		ins, err := c.d.ExecInspect(context.Background(), eid)
		if err != nil || !ins.Running {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}
