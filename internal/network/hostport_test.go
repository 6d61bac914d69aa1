package network

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/pier-engine/pier/internal/errdefs"
)

// TestPublishRefusesForeignHostIP: -p 8.8.8.8:53:53 would hijack every
// container's queries to 8.8.8.8; it is refused before any rule exists (the
// check is a route lookup, nothing is sent).
func TestPublishRefusesForeignHostIP(t *testing.T) {
	p := Port{Proto: "udp", HostIP: netip.MustParseAddr("8.8.8.8"), HostPort: 53, ContainerIP: netip.MustParseAddr("10.1.0.5"), ContainerPort: 53}
	_, err := PublishPort(p)
	if !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), "8.8.8.8") || !strings.Contains(err.Error(), "not a local address") {
		t.Fatalf("publish on 8.8.8.8: %v; want ErrInvalidArgument naming the address", err)
	}
	for _, ip := range []string{"127.0.0.1", "127.0.0.2", "0.0.0.0"} {
		if err := checkHostIP(netip.MustParseAddr(ip)); err != nil {
			t.Errorf("%s refused: %v", ip, err)
		}
	}
	if err := checkHostIP(netip.Addr{}); err != nil {
		t.Errorf("no address refused: %v", err)
	}
}

// TestPublishRefusesPortInUse: a host port some process listens on is a
// conflict, on its own address and on the unspecified one.
func TestPublishRefusesPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tcp := uint16(ln.Addr().(*net.TCPAddr).Port)
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	udp := uint16(pc.LocalAddr().(*net.UDPAddr).Port)
	lo := netip.MustParseAddr("127.0.0.1")
	for _, c := range []struct {
		proto string
		ip    netip.Addr
		port  uint16
	}{{"tcp", lo, tcp}, {"tcp", netip.Addr{}, tcp}, {"udp", lo, udp}, {"udp", netip.IPv4Unspecified(), udp}} {
		p := Port{Proto: c.proto, HostIP: c.ip, HostPort: c.port, ContainerIP: netip.MustParseAddr("10.1.0.5"), ContainerPort: 80}
		if _, err := PublishPort(p); !errors.Is(err, errdefs.ErrConflict) || !strings.Contains(err.Error(), "in use") {
			t.Errorf("%s %s:%d in use: %v; want ErrConflict", c.proto, c.ip, c.port, err)
		}
	}
	// The other protocol on the same number is free.
	if err := checkPortFree("udp", lo, tcp); err != nil {
		pc2, perr := net.ListenPacket("udp4", netip.AddrPortFrom(lo, tcp).String())
		if perr == nil { // free after all: the check was wrong
			pc2.Close()
			t.Errorf("udp %d: %v", tcp, err)
		}
	}
}
