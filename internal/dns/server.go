package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"
)

const (
	// maxForwards bounds the queries waiting on an upstream at once; beyond
	// it a client gets SERVFAIL at once instead of a goroutine more.
	maxForwards = 64
	// maxTCPConns bounds the client TCP connections served at once, and
	// maxTCPPerClient those of one client address, so one container cannot
	// take every slot; beyond either a new connection is closed unanswered.
	maxTCPConns     = 16
	maxTCPPerClient = 4
	// tcpIdle is how long a client's TCP connection may sit between queries
	// (RFC 7766 suggests seconds, not minutes).
	tcpIdle = 10 * time.Second
	// upstreamTimeout is how long one upstream has to answer one query.
	upstreamTimeout = 2 * time.Second
)

// Server is one embedded resolver listening on UDP and TCP.
type Server struct {
	names     func(name string) []netip.Addr
	clients   netip.Prefix // the network's subnet: nobody else is answered
	upstreams []netip.AddrPort
	timeout   time.Duration // per upstream and query

	udp *net.UDPConn
	tcp *net.TCPListener

	forwards chan struct{} // a semaphore: one token per query at an upstream
	tcpConns chan struct{} // a semaphore: one token per client connection

	// ctx is cancelled by Close, interrupting every upstream exchange.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	conns    map[net.Conn]struct{} // Guarded by mu.
	perConns map[netip.Addr]int    // open connections by client. Guarded by mu.

	closeOnce sync.Once
	closeErr  error
}

// Listen serves DNS on gw's address, port port, over UDP and TCP, to the
// clients of gw's subnet only: gw is the gateway as the bridge holds it
// (10.1.0.1/16), and a query from any other address (a LAN host, another
// network) is dropped unanswered, so the host is never an open resolver.
// names answers A queries for the network's containers (name lower-cased,
// without trailing dot; nil/empty = not ours); everything else is forwarded
// to upstreams (tried in order, with timeouts). Port 0 picks a port free
// for both protocols.
func Listen(gw netip.Prefix, port int, names func(name string) []netip.Addr, upstreams []netip.AddrPort) (*Server, error) {
	return listen(gw, port, names, upstreams, upstreamTimeout)
}

func listen(gw netip.Prefix, port int, names func(string) []netip.Addr, upstreams []netip.AddrPort, timeout time.Duration) (*Server, error) {
	if !gw.IsValid() {
		return nil, fmt.Errorf("dns listen %s: not an address with a prefix length", gw)
	}
	addr := gw.Addr()
	udp, tcp, err := bind(addr, port)
	if err != nil {
		return nil, err
	}
	self := netip.AddrPortFrom(addr, uint16(udp.LocalAddr().(*net.UDPAddr).Port))
	s := &Server{
		names:    names,
		clients:  gw.Masked(),
		timeout:  timeout,
		udp:      udp,
		tcp:      tcp,
		forwards: make(chan struct{}, maxForwards),
		tcpConns: make(chan struct{}, maxTCPConns),
		conns:    make(map[net.Conn]struct{}),
		perConns: make(map[netip.Addr]int),
	}
	for _, u := range upstreams {
		// Forwarding to ourselves would loop until every token is taken.
		if u != self {
			s.upstreams = append(s.upstreams, u)
		}
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.wg.Add(2)
	go s.serveUDP()
	go s.serveTCP()
	return s, nil
}

// bind opens the UDP socket and the TCP listener on the same port. With port
// 0 the kernel picks the UDP port, which may be taken for TCP: try again.
func bind(addr netip.Addr, port int) (*net.UDPConn, *net.TCPListener, error) {
	if port < 0 || port > 65535 {
		return nil, nil, fmt.Errorf("dns listen %s: port %d out of range", addr, port)
	}
	var err error
	for range 10 {
		ap := netip.AddrPortFrom(addr, uint16(port))
		var udp *net.UDPConn
		udp, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(ap))
		if err != nil {
			return nil, nil, fmt.Errorf("dns listen udp %s: %w", ap, err)
		}
		ap = netip.AddrPortFrom(addr, uint16(udp.LocalAddr().(*net.UDPAddr).Port))
		var tcp *net.TCPListener
		tcp, err = net.ListenTCP("tcp", net.TCPAddrFromAddrPort(ap))
		if err == nil {
			return udp, tcp, nil
		}
		udp.Close()
		err = fmt.Errorf("dns listen tcp %s: %w", ap, err)
		if port != 0 {
			break
		}
	}
	return nil, nil, err
}

// Port is the port the server listens on, the one the kernel chose when
// Listen was given 0.
func (s *Server) Port() int {
	return s.udp.LocalAddr().(*net.UDPAddr).Port
}

// Close stops both listeners, interrupts the queries at upstreams and waits
// for every goroutine to finish. It is idempotent.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.cancel()
		s.closeErr = errors.Join(s.udp.Close(), s.tcp.Close())
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
		if s.closeErr != nil {
			s.closeErr = fmt.Errorf("dns close: %w", s.closeErr)
		}
	})
	return s.closeErr
}

func (s *Server) acquire() bool {
	select {
	case s.forwards <- struct{}{}:
		return true
	default:
		return false
	}
}

func (s *Server) release() { <-s.forwards }

// serveUDP reads queries until the socket closes. Local answers go out from
// this goroutine; forwarded queries each get one of at most maxForwards
// goroutines, so a slow upstream never stalls the names we own.
func (s *Server) serveUDP() {
	defer s.wg.Done()
	buf := make([]byte, maxTCPSize)
	for {
		n, client, err := s.udp.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // e.g. ICMP errors surfacing on the socket
		}
		if !s.clients.Contains(client.Addr().Unmap()) {
			continue
		}
		resp, q, fwd := s.answer(buf[:n], false)
		if !fwd {
			s.writeUDP(resp, client)
			continue
		}
		if !s.acquire() {
			s.writeUDP(reply(q, servfail, nil, q.udpSize), client)
			continue
		}
		msg := append([]byte(nil), buf[:n]...)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.release()
			s.writeUDP(s.forward(s.ctx, msg, q, false), client)
		}()
	}
}

func (s *Server) writeUDP(resp []byte, client netip.AddrPort) {
	if resp != nil {
		// A lost answer is the client's to retry, like a lost query.
		_, _ = s.udp.WriteToUDPAddrPort(resp, client)
	}
}

// serveTCP accepts connections until the listener closes.
func (s *Server) serveTCP() {
	defer s.wg.Done()
	for {
		c, err := s.tcp.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors, say: back off rather than spin.
			time.Sleep(10 * time.Millisecond)
			continue
		}
		client := c.RemoteAddr().(*net.TCPAddr).AddrPort().Addr().Unmap()
		if !s.clients.Contains(client) {
			c.Close()
			continue
		}
		select {
		case s.tcpConns <- struct{}{}:
		default:
			c.Close()
			continue
		}
		if !s.track(c, client) {
			<-s.tcpConns
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() { <-s.tcpConns }()
			defer s.untrack(c, client)
			s.serveConn(c)
		}()
	}
}

// track registers c, from client, for Close to interrupt; false (and c
// closed) when Close has already begun or client holds its share of slots.
func (s *Server) track(c net.Conn, client netip.Addr) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx.Err() != nil || s.perConns[client] >= maxTCPPerClient {
		c.Close()
		return false
	}
	s.conns[c] = struct{}{}
	s.perConns[client]++
	return true
}

func (s *Server) untrack(c net.Conn, client netip.Addr) {
	s.mu.Lock()
	delete(s.conns, c)
	if s.perConns[client]--; s.perConns[client] <= 0 {
		delete(s.perConns, client)
	}
	s.mu.Unlock()
	c.Close()
}

// serveConn answers length-prefixed queries on one connection, one at a
// time, until the client goes quiet or away.
func (s *Server) serveConn(c net.Conn) {
	for {
		// The deadline covers reading only: the time spent at upstreams is
		// bounded by their own timeouts.
		_ = c.SetReadDeadline(time.Now().Add(tcpIdle))
		msg, err := readTCP(c)
		if err != nil {
			return
		}
		resp := s.handle(s.ctx, msg, true)
		if resp == nil {
			return
		}
		_ = c.SetWriteDeadline(time.Now().Add(tcpIdle))
		if err := writeTCP(c, resp); err != nil {
			return
		}
	}
}
