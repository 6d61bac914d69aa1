package dns

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

const servfail = dnsmessage.RCodeServerFailure

// bufs holds buffers for upstream answers, which may be as large as the
// client's EDNS size; pooled so that only queries in flight hold one.
var bufs = sync.Pool{New: func() any { b := make([]byte, maxTCPSize); return &b }}

// forward sends msg verbatim to each upstream in turn and relays the first
// usable answer byte for byte: same ID, same flags, truncation included. An
// upstream's SERVFAIL or REFUSED sends us to the next one; when none does
// better, the client gets the last of those, or our own SERVFAIL. nil means
// Close interrupted the query.
func (s *Server) forward(ctx context.Context, msg []byte, q query, tcp bool) []byte {
	var fallback []byte
	for _, up := range s.upstreams {
		resp, err := s.exchange(ctx, up, msg, q.header.ID, tcp)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			continue
		}
		if rc := rcode(resp); rc == dnsmessage.RCodeServerFailure || rc == dnsmessage.RCodeRefused {
			fallback = resp
			continue
		}
		return resp
	}
	if fallback != nil {
		return fallback
	}
	return reply(q, servfail, nil, limit(q, tcp))
}

// rcode reads the response code from a message whose header has been checked.
func rcode(msg []byte) dnsmessage.RCode {
	return dnsmessage.RCode(binary.BigEndian.Uint16(msg[2:4]) & 0xf)
}

// exchange sends one query to one upstream over the client's transport and
// waits at most s.timeout for its answer.
func (s *Server) exchange(ctx context.Context, up netip.AddrPort, msg []byte, id uint16, tcp bool) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	network := "udp"
	if tcp {
		network = "tcp"
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, network, up.String())
	if err != nil {
		return nil, fmt.Errorf("dial %s %s: %w", network, up, err)
	}
	defer c.Close()
	deadline, _ := ctx.Deadline()
	_ = c.SetDeadline(deadline)
	// Close cancels ctx: wake the read now rather than at the deadline.
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	if tcp {
		if err := writeTCP(c, msg); err != nil {
			return nil, fmt.Errorf("query %s: %w", up, err)
		}
		resp, err := readTCP(c)
		if err != nil {
			return nil, fmt.Errorf("read answer from %s: %w", up, err)
		}
		if !answers(resp, id) {
			return nil, fmt.Errorf("read answer from %s: not an answer to query %d", up, id)
		}
		return resp, nil
	}
	if _, err := c.Write(msg); err != nil {
		return nil, fmt.Errorf("query %s: %w", up, err)
	}
	bp := bufs.Get().(*[]byte)
	defer bufs.Put(bp)
	for {
		n, err := c.Read(*bp)
		if err != nil {
			return nil, fmt.Errorf("read answer from %s: %w", up, err)
		}
		// A stray or late datagram (an earlier query's answer on a reused
		// port) is skipped; the deadline still bounds the wait.
		if answers((*bp)[:n], id) {
			return append([]byte(nil), (*bp)[:n]...), nil
		}
	}
}

// answers reports whether msg is a response with the given ID.
func answers(msg []byte, id uint16) bool {
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	return err == nil && h.Response && h.ID == id
}

// readTCP reads one length-prefixed message (RFC 1035 4.2.2).
func readTCP(r io.Reader) ([]byte, error) {
	var n [2]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return nil, err
	}
	msg := make([]byte, binary.BigEndian.Uint16(n[:]))
	if _, err := io.ReadFull(r, msg); err != nil {
		return nil, err
	}
	return msg, nil
}

// writeTCP writes one length-prefixed message in a single write, so that the
// prefix and the message travel in one segment.
func writeTCP(w io.Writer, msg []byte) error {
	if len(msg) > maxTCPSize {
		return fmt.Errorf("dns message of %d bytes exceeds %d", len(msg), maxTCPSize)
	}
	buf := make([]byte, 2+len(msg))
	binary.BigEndian.PutUint16(buf, uint16(len(msg)))
	copy(buf[2:], msg)
	_, err := w.Write(buf)
	return err
}
