package dns

import (
	"net"
	"net/netip"

	"sync"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

var (
	webAddr  = netip.MustParseAddr("10.88.0.2")
	web6Addr = netip.MustParseAddr("fd00::2")
	farAddr  = netip.MustParseAddr("192.0.2.1") // what the fake upstream answers
)

// names owns "web" (IPv4 only) and "dual" (both families).
func names(name string) []netip.Addr {
	switch name {
	case "web":
		return []netip.Addr{webAddr}
	case "dual":
		return []netip.Addr{webAddr, web6Addr}
	}
	return nil
}

func start(t *testing.T, upstreams []netip.AddrPort, timeout time.Duration) *Server {
	t.Helper()
	// The loopback net plays the network's subnet: clients dial from
	// 127.0.0.1, the fake upstream lives on 127.0.0.2.
	s, err := listen(netip.MustParsePrefix("127.0.0.1/8"), 0, names, upstreams, timeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func addr(s *Server) string {
	return netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(s.Port())).String()
}

// upstream is a fake DNS server on 127.0.0.2 answering every A query with
// farAddr, and "big.example" over UDP with an empty truncated answer.
type upstream struct {
	udp *net.UDPConn
	tcp *net.TCPListener

	mu   sync.Mutex
	sent [][]byte // Guarded by mu.
}

func fakeUpstream(t *testing.T, silent bool) *upstream {
	t.Helper()
	udp, tcp, err := bind(netip.MustParseAddr("127.0.0.2"), 0)
	if err != nil {
		t.Fatal(err)
	}
	u := &upstream{udp: udp, tcp: tcp}
	var wg sync.WaitGroup
	t.Cleanup(func() { udp.Close(); tcp.Close(); wg.Wait() })
	wg.Add(2)
	go func() {
		defer wg.Done()
		buf := make([]byte, 4096)
		for {
			n, from, err := udp.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			if !silent {
				udp.WriteToUDPAddrPort(u.answer(buf[:n], false), from)
			}
		}
	}()
	go func() {
		defer wg.Done()
		for {
			c, err := tcp.Accept()
			if err != nil {
				return
			}
			if msg, err := readTCP(c); err == nil && !silent {
				writeTCP(c, u.answer(msg, true))
			}
			c.Close()
		}
	}()
	return u
}

func (u *upstream) addr() netip.AddrPort {
	return netip.AddrPortFrom(netip.MustParseAddr("127.0.0.2"), uint16(u.udp.LocalAddr().(*net.UDPAddr).Port))
}

func (u *upstream) answer(msg []byte, tcp bool) []byte {
	q, err := parse(msg)
	if err != nil {
		return nil
	}
	var resp []byte
	if canonical(q.question.Name) == "big.example" && !tcp {
		resp, _ = build(q, dnsmessage.RCodeSuccess, nil, true)
	} else {
		resp, _ = build(q, dnsmessage.RCodeSuccess, []netip.Addr{farAddr}, false)
	}
	u.mu.Lock()
	u.sent = append(u.sent, resp)
	u.mu.Unlock()
	return resp
}

func (u *upstream) last() []byte {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.sent) == 0 {
		return nil
	}
	return u.sent[len(u.sent)-1]
}

func newQuery(t testing.TB, id uint16, name string, typ dnsmessage.Type) []byte {
	t.Helper()
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: id, RecursionDesired: true})
	b.StartQuestions()
	if err := b.Question(dnsmessage.Question{Name: dnsmessage.MustNewName(name), Type: typ, Class: dnsmessage.ClassINET}); err != nil {
		t.Fatal(err)
	}
	msg, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

func exchangeUDP(t *testing.T, s *Server, msg []byte) []byte {
	t.Helper()
	c, err := net.Dial("udp", addr(s))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65535)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	return buf[:n]
}

func exchangeTCP(t *testing.T, s *Server, msg []byte) []byte {
	t.Helper()
	c, err := net.Dial("tcp", addr(s))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if err := writeTCP(c, msg); err != nil {
		t.Fatal(err)
	}
	resp, err := readTCP(c)
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	return resp
}

// decoded is an answer reduced to what the tests check.
type decoded struct {
	header dnsmessage.Header
	addrs  []netip.Addr
	ttls   []uint32
}

func decode(t *testing.T, msg []byte) decoded {
	t.Helper()
	var m dnsmessage.Message
	if err := m.Unpack(msg); err != nil {
		t.Fatalf("unpack answer: %v", err)
	}
	d := decoded{header: m.Header}
	for _, a := range m.Answers {
		switch b := a.Body.(type) {
		case *dnsmessage.AResource:
			d.addrs = append(d.addrs, netip.AddrFrom4(b.A))
		case *dnsmessage.AAAAResource:
			d.addrs = append(d.addrs, netip.AddrFrom16(b.AAAA))
		}
		d.ttls = append(d.ttls, a.Header.TTL)
	}
	return d
}

func TestOwnNames(t *testing.T) {
	s := start(t, nil, time.Second)
	for _, tc := range []struct {
		name string
		typ  dnsmessage.Type
		want []netip.Addr
	}{
		{"web.", dnsmessage.TypeA, []netip.Addr{webAddr}},
		{"WeB.", dnsmessage.TypeA, []netip.Addr{webAddr}},
		{"web.", dnsmessage.TypeAAAA, nil},
		{"dual.", dnsmessage.TypeAAAA, []netip.Addr{web6Addr}},
		{"web.", dnsmessage.TypeMX, nil},
	} {
		t.Run(tc.name+tc.typ.String(), func(t *testing.T) {
			d := decode(t, exchangeUDP(t, s, newQuery(t, 4242, tc.name, tc.typ)))
			if d.header.ID != 4242 || !d.header.Response || d.header.RCode != dnsmessage.RCodeSuccess || !d.header.Authoritative {
				t.Fatalf("header %+v, want ID 4242, an authoritative NOERROR response", d.header)
			}
			if !slicesEqual(d.addrs, tc.want) {
				t.Fatalf("answers %v, want %v", d.addrs, tc.want)
			}
			for _, got := range d.ttls {
				if got != ttl {
					t.Fatalf("ttl %d, want %d", got, ttl)
				}
			}
		})
	}
}

func slicesEqual(a, b []netip.Addr) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
