package monitor

import (
	"fmt"
	"net"
	"sync"
)

// Attachment is a client's connection to a monitor's attach socket: the
// container's output comes from Next, its stdin goes to Write.
type Attachment struct {
	conn *net.UnixConn
	buf  []byte
	// wmu keeps each frame whole when stdin and resizes race.
	wmu sync.Mutex
}

// Attach connects to the attach socket at path asking for flags
// (AttachStdin, AttachStdout, AttachStderr; 0 for a connection that only
// resizes).
func Attach(path string, flags byte) (*Attachment, error) {
	conn, err := dialUnix(path)
	if err != nil {
		return nil, err
	}
	a := &Attachment{conn: conn}
	if err := a.send(FrameHello, []byte{flags}); err != nil {
		conn.Close()
		return nil, fmt.Errorf("attach %s: %w", path, err)
	}
	return a, nil
}

func (a *Attachment) send(typ byte, p []byte) error {
	a.wmu.Lock()
	defer a.wmu.Unlock()
	return writeFrames(a.conn, typ, p)
}

// Next returns the next piece of output and its stream, FrameStdout or
// FrameStderr; the bytes are valid until the next call. io.EOF means the
// output has ended (or this client fell too far behind and was dropped).
func (a *Attachment) Next() (byte, []byte, error) {
	for {
		typ, p, err := readFrame(a.conn, &a.buf)
		if err != nil {
			return 0, nil, err
		}
		if typ == FrameStdout || typ == FrameStderr {
			return typ, p, nil
		}
	}
}

// Write sends p to the container's stdin.
func (a *Attachment) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if err := a.send(FrameStdin, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// CloseStdin says this client's stdin has ended.
func (a *Attachment) CloseStdin() error { return a.send(FrameEOF, nil) }

// Resize sets the container's terminal size.
func (a *Attachment) Resize(rows, cols uint16) error {
	return a.send(FrameResize, resizePayload(rows, cols))
}

// Close detaches.
func (a *Attachment) Close() error { return a.conn.Close() }
