package dns

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

func TestForwardUDP(t *testing.T) {
	u := fakeUpstream(t, false)
	s := start(t, []netip.AddrPort{u.addr()}, time.Second)
	resp := exchangeUDP(t, s, newQuery(t, 777, "example.org.", dnsmessage.TypeA))
	if !bytes.Equal(resp, u.last()) {
		t.Fatalf("answer not relayed verbatim:\n got %x\nwant %x", resp, u.last())
	}
	if d := decode(t, resp); d.header.ID != 777 || !slicesEqual(d.addrs, []netip.Addr{farAddr}) {
		t.Fatalf("answer %+v, want ID 777 and %v", d, farAddr)
	}
}

// A name with a search-domain suffix is not ours, even if its first label is.
func TestForwardSearchSuffix(t *testing.T) {
	u := fakeUpstream(t, false)
	s := start(t, []netip.AddrPort{u.addr()}, time.Second)
	d := decode(t, exchangeUDP(t, s, newQuery(t, 9, "web.corp.example.", dnsmessage.TypeA)))
	if !slicesEqual(d.addrs, []netip.Addr{farAddr}) {
		t.Fatalf("answers %v, want the upstream's %v", d.addrs, farAddr)
	}
}

func TestForwardNextUpstream(t *testing.T) {
	// Nothing listens on the first: the kernel refuses at once.
	dead := closedPort(t)
	u := fakeUpstream(t, false)
	s := start(t, []netip.AddrPort{dead, u.addr()}, time.Second)
	d := decode(t, exchangeUDP(t, s, newQuery(t, 10, "example.org.", dnsmessage.TypeA)))
	if !slicesEqual(d.addrs, []netip.Addr{farAddr}) {
		t.Fatalf("answers %v, want the second upstream's %v", d.addrs, farAddr)
	}
}

func TestUpstreamDownServfail(t *testing.T) {
	silent := fakeUpstream(t, true)
	s := start(t, []netip.AddrPort{closedPort(t), silent.addr()}, 200*time.Millisecond)
	for _, tcp := range []bool{false, true} {
		begin := time.Now()
		q := newQuery(t, 11, "example.org.", dnsmessage.TypeA)
		var resp []byte
		if tcp {
			resp = exchangeTCP(t, s, q)
		} else {
			resp = exchangeUDP(t, s, q)
		}
		d := decode(t, resp)
		if d.header.RCode != dnsmessage.RCodeServerFailure || d.header.ID != 11 {
			t.Fatalf("tcp=%v: header %+v, want SERVFAIL for ID 11", tcp, d.header)
		}
		if el := time.Since(begin); el > 2*time.Second {
			t.Fatalf("tcp=%v: SERVFAIL after %v, want within the upstream timeout", tcp, el)
		}
	}
}

func TestNoUpstreamServfail(t *testing.T) {
	s := start(t, nil, time.Second)
	d := decode(t, exchangeUDP(t, s, newQuery(t, 12, "example.org.", dnsmessage.TypeA)))
	if d.header.RCode != dnsmessage.RCodeServerFailure {
		t.Fatalf("rcode %v, want SERVFAIL", d.header.RCode)
	}
}

func TestTCP(t *testing.T) {
	u := fakeUpstream(t, false)
	s := start(t, []netip.AddrPort{u.addr()}, time.Second)
	d := decode(t, exchangeTCP(t, s, newQuery(t, 13, "web.", dnsmessage.TypeA)))
	if d.header.ID != 13 || !slicesEqual(d.addrs, []netip.Addr{webAddr}) {
		t.Fatalf("own name over TCP: %+v", d)
	}
	// The fake truncates big.example over UDP only: the UDP client sees the
	// TC bit relayed, and its retry over TCP goes to the upstream over TCP.
	d = decode(t, exchangeUDP(t, s, newQuery(t, 14, "big.example.", dnsmessage.TypeA)))
	if !d.header.Truncated {
		t.Fatalf("UDP answer %+v, want the upstream's TC bit", d.header)
	}
	d = decode(t, exchangeTCP(t, s, newQuery(t, 15, "big.example.", dnsmessage.TypeA)))
	if d.header.Truncated || d.header.ID != 15 || !slicesEqual(d.addrs, []netip.Addr{farAddr}) {
		t.Fatalf("TCP answer %+v, want the full answer", d)
	}
}

func TestMalformedIgnored(t *testing.T) {
	s := start(t, nil, time.Second)
	c, err := net.Dial("udp", addr(s))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	resp := newQuery(t, 1, "web.", dnsmessage.TypeA)
	resp[2] |= 0x80 // QR: a response, which must not be answered
	for _, junk := range [][]byte{{}, {1, 2, 3}, bytes.Repeat([]byte{0xff}, 40), resp} {
		c.Write(junk)
	}
	c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if n, err := c.Read(make([]byte, 512)); err == nil {
		t.Fatalf("got a %d-byte answer to junk", n)
	}
	// Still serving.
	if d := decode(t, exchangeUDP(t, s, newQuery(t, 16, "web.", dnsmessage.TypeA))); d.header.ID != 16 {
		t.Fatalf("after junk: %+v", d)
	}
}

func TestCloseStopsServing(t *testing.T) {
	silent := fakeUpstream(t, true)
	s := start(t, []netip.AddrPort{silent.addr()}, 5*time.Second)
	a := addr(s)
	// A query waiting on the silent upstream must not hold Close up.
	c, err := net.Dial("udp", a)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(newQuery(t, 17, "example.org.", dnsmessage.TypeA))
	time.Sleep(50 * time.Millisecond)
	begin := time.Now()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(begin); el > time.Second {
		t.Fatalf("Close took %v with a query in flight", el)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if c, err := net.DialTimeout("tcp", a, time.Second); err == nil {
		c.Close()
		t.Fatal("TCP still accepting after Close")
	}
	c.Write(newQuery(t, 18, "web.", dnsmessage.TypeA))
	c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if _, err := c.Read(make([]byte, 512)); err == nil {
		t.Fatal("UDP still answering after Close")
	}
}

func TestNoForwardToSelf(t *testing.T) {
	// Port 0 cannot name ourselves before Listen, so listen twice: the
	// second server on the first one's port after it closed.
	s := start(t, nil, time.Second)
	port := s.Port()
	s.Close()
	self := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))
	s2, err := listen(netip.PrefixFrom(self.Addr(), 8), port, names, []netip.AddrPort{self}, time.Second)
	if err != nil {
		t.Skipf("port %d taken again: %v", port, err)
	}
	defer s2.Close()
	if len(s2.upstreams) != 0 {
		t.Fatalf("upstreams %v include the server itself", s2.upstreams)
	}
}

// closedPort is a UDP port on 127.0.0.3 where nothing listens.
func closedPort(t *testing.T) netip.AddrPort {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.3:0")))
	if err != nil {
		t.Fatal(err)
	}
	ap := c.LocalAddr().(*net.UDPAddr).AddrPort()
	c.Close()
	return ap
}

func FuzzHandle(f *testing.F) {
	f.Add(newQuery(f, 1, "web.", dnsmessage.TypeA), false)
	f.Add(newQuery(f, 2, "DUAL.", dnsmessage.TypeAAAA), true)
	f.Add(newQuery(f, 3, "example.org.", dnsmessage.TypeTXT), false)
	f.Add([]byte{0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0}, false)
	s := &Server{names: names, forwards: make(chan struct{}, 1)}
	f.Fuzz(func(t *testing.T, msg []byte, tcp bool) {
		resp := s.handle(t.Context(), msg, tcp)
		if resp == nil {
			return
		}
		var m dnsmessage.Message
		if err := m.Unpack(resp); err != nil {
			t.Fatalf("our answer does not parse: %v", err)
		}
		q, err := parse(msg)
		if err != nil || m.Header.ID != q.header.ID || !m.Header.Response {
			t.Fatalf("answer %+v to a query that parses to %+v (%v)", m.Header, q.header, err)
		}
		if !tcp && len(resp) > q.udpSize {
			t.Fatalf("%d-byte UDP answer exceeds the client's %d", len(resp), q.udpSize)
		}
	})
}
