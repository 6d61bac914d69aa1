package monitor

import (
	"encoding/binary"
	"net"
	"os"
	"sync"
	"time"
)

// clientQueue is how many output frames may wait for one attached client;
// a client that falls further behind is dropped, so that the container
// never waits for it (the log has everything).
const clientQueue = 64

// helloTimeout bounds the wait for a new client's FrameHello.
const helloTimeout = 5 * time.Second

// hub serves the attach socket: it fans the container's output out to
// attached clients and their stdin and resizes in.
type hub struct {
	m       *monitor
	ln      *net.UnixListener
	writers sync.WaitGroup

	mu sync.Mutex
	// clients are the attached clients. Guarded by mu.
	clients map[*client]struct{}
	// registered counts clients ever attached; joined is signalled on each. Guarded by mu.
	registered int
	joined     chan struct{}
	// closed is set once the output has ended. Guarded by mu.
	closed bool
	// conns counts connections being served, in their hello or attached.
	// Guarded by mu.
	conns int

	// acceptor is the accept loop, which pause stops.
	acceptor sync.WaitGroup
}

// client is one attached connection.
type client struct {
	conn  net.Conn
	flags byte
	out   chan []byte // framed output; closed when the client is removed
}

func newHub(m *monitor, path string) (*hub, error) {
	ln, err := listenUnix(path)
	if err != nil {
		return nil, err
	}
	return serveHub(m, ln), nil
}

// serveHub serves attaches on ln, which is listening already.
func serveHub(m *monitor, ln *net.UnixListener) *hub {
	h := &hub{m: m, ln: ln, clients: map[*client]struct{}{}, joined: make(chan struct{}, 1)}
	h.acceptor.Add(1)
	go h.accept()
	return h
}

// accept serves new connections until the listener closes or pause sets
// its deadline.
func (h *hub) accept() {
	defer h.acceptor.Done()
	for {
		conn, err := h.ln.Accept()
		if err != nil {
			return
		}
		h.mu.Lock()
		h.conns++
		h.mu.Unlock()
		go h.serve(conn)
	}
}

// connDone counts a connection's end: its close, by serve before a
// client is added, else by the client's writer.
func (h *hub) connDone() {
	h.mu.Lock()
	h.conns--
	h.mu.Unlock()
}

// pause stops accepting and reports whether no connection is being
// served, which a handover needs: the listener passes to the next image,
// a connection does not. A client that connects meanwhile waits in the
// listen queue. Unless resumed, the hub stays paused.
func (h *hub) pause() bool {
	_ = h.ln.SetDeadline(time.Unix(1, 0))
	h.acceptor.Wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.conns == 0 && !h.closed
}

// resume accepts again after pause.
func (h *hub) resume() {
	_ = h.ln.SetDeadline(time.Time{})
	h.acceptor.Add(1)
	go h.accept()
}

// serve registers a client after its hello and reads its frames until it
// goes away.
func (h *hub) serve(conn net.Conn) {
	var buf []byte
	_ = conn.SetReadDeadline(time.Now().Add(helloTimeout))
	typ, p, err := readFrame(conn, &buf)
	if err != nil || typ != FrameHello || len(p) != 1 {
		conn.Close()
		h.connDone()
		return
	}
	_ = conn.SetReadDeadline(time.Time{})
	c := &client{conn: conn, flags: p[0], out: make(chan []byte, clientQueue)}
	if !h.add(c) {
		conn.Close()
		h.connDone()
		return
	}
	for {
		typ, p, err := readFrame(conn, &buf)
		if err != nil {
			break
		}
		switch typ {
		case FrameStdin:
			if c.flags&AttachStdin != 0 {
				h.m.writeStdin(p)
			}
		case FrameEOF:
			if c.flags&AttachStdin != 0 {
				h.m.stdinEnded()
			}
		case FrameResize:
			if len(p) == 4 {
				h.m.resize(binary.BigEndian.Uint16(p), binary.BigEndian.Uint16(p[2:]))
			}
		}
	}
	if c.flags&AttachStdin != 0 {
		h.m.stdinEnded()
	}
	h.remove(c)
}

// add registers c and starts its writer; false once the output has ended.
func (h *hub) add(c *client) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.clients[c] = struct{}{}
	if c.flags != 0 { // a bare resize is no attach to wait for
		h.registered++
		select {
		case h.joined <- struct{}{}:
		default:
		}
	}
	h.writers.Add(1)
	go h.write(c)
	return true
}

// write sends c's queue until it is closed, then closes the connection.
func (h *hub) write(c *client) {
	defer h.writers.Done()
	defer h.connDone()
	defer c.conn.Close()
	for f := range c.out {
		if _, err := c.conn.Write(f); err != nil {
			h.remove(c)
			for range c.out {
			}
			return
		}
	}
}

// remove drops c; its writer sends what is queued and closes. Removing
// twice is harmless.
func (h *hub) remove(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.clients[c]; ok {
		delete(h.clients, c)
		close(c.out)
	}
}

// waitClients waits until n clients have attached, or for timeout: pierd
// holds a start until the clients that attached before it are here, so
// that they see the container's first bytes.
func (h *hub) waitClients(n int, timeout time.Duration) {
	deadline := time.After(timeout)
	for {
		h.mu.Lock()
		got := h.registered
		h.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-h.joined:
		case <-deadline:
			return
		}
	}
}

// broadcast queues p, from stream typ, for each client that wants it. A
// client whose queue is full is dropped at once: its connection closes.
func (h *hub) broadcast(typ byte, p []byte) {
	want := AttachStdout
	if typ == FrameStderr {
		want = AttachStderr
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	var frame []byte
	for c := range h.clients {
		if c.flags&want == 0 {
			continue
		}
		if frame == nil {
			frame = appendFrame(make([]byte, 0, frameHeader+len(p)), typ, p)
		}
		select {
		case c.out <- frame:
		default:
			delete(h.clients, c)
			close(c.out)
			c.conn.Close()
		}
	}
}

// close ends the output: no new clients, queued output is sent for at
// most grace, then every connection closes and the socket goes.
func (h *hub) close(path string, grace time.Duration) {
	h.ln.Close()
	os.Remove(path)
	h.mu.Lock()
	h.closed = true
	conns := make([]net.Conn, 0, len(h.clients))
	for c := range h.clients {
		delete(h.clients, c)
		close(c.out)
		conns = append(conns, c.conn)
	}
	h.mu.Unlock()
	done := make(chan struct{})
	go func() { h.writers.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		for _, c := range conns {
			c.Close()
		}
		<-done
	}
}
