package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
)

// session is one hijacked attach or exec connection and the local ends
// it is copied to: in is nil when stdin is not attached, out and errOut
// nil when that stream is not wanted.
type session struct {
	conn        client.HijackedResponse
	in          io.Reader
	out, errOut io.Writer
	tty         bool
	detachKeys  []byte
}

// stream copies the session both ways, as docker's hijacked streamer:
// with a tty, stdin goes raw through the detach-key filter and the output
// is copied as is; without one, the output is demultiplexed into stdout
// and stderr. It returns when the output ends, when stdin ends and then
// the output, when the user detaches (errDetached) or when ctx ends. The
// terminal is restored on every one of those paths.
func (s session) stream(ctx context.Context) error {
	restore := func() {}
	in := s.in
	if in != nil && s.tty {
		r, err := rawInput()
		if err != nil {
			return fmt.Errorf("set the terminal raw: %w", err)
		}
		restore = r
		in = newEscapeReader(in, s.detachKeys)
	}
	defer restore()

	outDone := make(chan error, 1)
	go func() {
		var err error
		switch {
		case s.out == nil && s.errOut == nil:
			_, err = io.Copy(io.Discard, s.conn.Reader)
		case s.tty:
			_, err = io.Copy(orDiscard(s.out), s.conn.Reader)
			restore() // before anything else is printed
		default:
			_, err = stdcopy.StdCopy(orDiscard(s.out), orDiscard(s.errOut), s.conn.Reader)
		}
		outDone <- err
	}()

	inDone := make(chan error, 1)
	if in != nil {
		go func() {
			_, err := io.Copy(s.conn.Conn, in)
			if errors.Is(err, errDetached) {
				restore()
				inDone <- errDetached
				return
			}
			// The container sees EOF on its stdin; its output goes on.
			s.conn.CloseWrite()
			inDone <- nil
		}()
	}

	select {
	case err := <-outDone:
		return streamEnd(err)
	case err := <-inDone:
		if err != nil {
			return err
		}
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-outDone:
		return streamEnd(err)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// streamEnd makes a clean close of the connection no error.
func streamEnd(err error) error {
	if err == nil || errors.Is(err, io.EOF) {
		return nil
	}
	return fmt.Errorf("attach stream: %w", err)
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}
