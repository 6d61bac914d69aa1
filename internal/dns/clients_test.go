package dns

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// dialFrom dials the server from the local address from (any port).
func dialFrom(t *testing.T, network string, from netip.Addr, s *Server) net.Conn {
	t.Helper()
	return dialFromTo(t, network, from, addr(s))
}

// answered sends a query for "web" on c and says whether an answer came
// within wait.
func answered(t *testing.T, c net.Conn, wait time.Duration) bool {
	t.Helper()
	msg := newQuery(t, 7, "web.", dnsmessage.TypeA)
	c.SetDeadline(time.Now().Add(wait))
	if _, ok := c.(*net.TCPConn); ok {
		if writeTCP(c, msg) != nil {
			return false
		}
		_, err := readTCP(c)
		return err == nil
	}
	if _, err := c.Write(msg); err != nil {
		return false
	}
	_, err := c.Read(make([]byte, 512))
	return err == nil
}

// TestDNSOnlySubnetClients: a resolver whose network is 127.0.0.1/32 answers
// 127.0.0.1 and nobody else (127.0.0.2 plays a LAN host), over either
// transport: it is not an open resolver.
func TestDNSOnlySubnetClients(t *testing.T) {
	s, err := listen(netip.MustParsePrefix("127.0.0.1/32"), 0, names, nil, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	inside, outside := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.2")
	for _, proto := range []string{"udp", "tcp"} {
		if !answered(t, dialFrom(t, proto, inside, s), 2*time.Second) {
			t.Errorf("%s: a client inside the subnet got no answer", proto)
		}
		if answered(t, dialFrom(t, proto, outside, s), 300*time.Millisecond) {
			t.Errorf("%s: a client outside the subnet got an answer", proto)
		}
	}
}

// TestDNSTCPSlotsPerClient: one client holding maxTCPPerClient idle
// connections gets no more, while another client still does.
func TestDNSTCPSlotsPerClient(t *testing.T) {
	s := start(t, nil, time.Second)
	greedy, other := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.4")
	for i := range maxTCPPerClient {
		if !answered(t, dialFrom(t, "tcp", greedy, s), 2*time.Second) {
			t.Fatalf("connection %d of one client refused", i+1)
		}
	}
	if answered(t, dialFrom(t, "tcp", greedy, s), 500*time.Millisecond) {
		t.Errorf("client served on connection %d, beyond its %d slots", maxTCPPerClient+1, maxTCPPerClient)
	}
	if !answered(t, dialFrom(t, "tcp", other, s), 2*time.Second) {
		t.Error("another client refused while the first holds its slots")
	}
}
