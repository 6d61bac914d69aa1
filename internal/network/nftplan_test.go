package network

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"testing"

	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"

	"github.com/pier-engine/pier/internal/errdefs"
)

// packet is what the evaluator below can look at.
type packet struct {
	iif, oif     string
	saddr, daddr string
	proto        byte
	dport        uint16
	local        bool // fib daddr type local
	dnat         bool // ct status dnat
	established  bool // ct state established
}

// eval runs a rule's expressions over p the way the kernel would, for the
// expressions pier uses, and returns the rule's action or "" when a
// comparison fails. It checks the encodings (byte order, masks, interface
// name padding) that a wrong plan would get wrong.
func eval(t *testing.T, exprs []expr.Any, p packet) string {
	t.Helper()
	regs := map[uint32][]byte{}
	for _, e := range exprs {
		switch e := e.(type) {
		case *expr.Meta:
			switch e.Key {
			case expr.MetaKeyIIFNAME:
				regs[e.Register] = ifnameBytes(p.iif)
			case expr.MetaKeyOIFNAME:
				regs[e.Register] = ifnameBytes(p.oif)
			case expr.MetaKeyL4PROTO:
				regs[e.Register] = []byte{p.proto}
			default:
				t.Fatalf("meta key %d", e.Key)
			}
		case *expr.Payload:
			switch {
			case e.Base == expr.PayloadBaseNetworkHeader && e.Offset == 12 && e.Len == 4:
				regs[e.DestRegister] = netip.MustParseAddr(p.saddr).AsSlice()
			case e.Base == expr.PayloadBaseNetworkHeader && e.Offset == 16 && e.Len == 4:
				regs[e.DestRegister] = netip.MustParseAddr(p.daddr).AsSlice()
			case e.Base == expr.PayloadBaseNetworkHeader && e.Offset == 8 && e.Len == 16:
				regs[e.DestRegister] = netip.MustParseAddr(p.saddr).AsSlice()
			case e.Base == expr.PayloadBaseNetworkHeader && e.Offset == 24 && e.Len == 16:
				regs[e.DestRegister] = netip.MustParseAddr(p.daddr).AsSlice()
			case e.Base == expr.PayloadBaseTransportHeader && e.Offset == 2 && e.Len == 2:
				regs[e.DestRegister] = binary.BigEndian.AppendUint16(nil, p.dport)
			default:
				t.Fatalf("payload %+v", e)
			}
		case *expr.Bitwise:
			src := regs[e.SourceRegister]
			if len(src) != int(e.Len) || len(e.Mask) != int(e.Len) || !bytes.Equal(e.Xor, make([]byte, e.Len)) {
				t.Fatalf("bitwise %+v over %x", e, src)
			}
			out := make([]byte, e.Len)
			for i := range out {
				out[i] = src[i] & e.Mask[i]
			}
			regs[e.DestRegister] = out
		case *expr.Cmp:
			eq := bytes.Equal(regs[e.Register], e.Data)
			if (e.Op == expr.CmpOpEq) != eq {
				return ""
			}
			if e.Op != expr.CmpOpEq && e.Op != expr.CmpOpNeq {
				t.Fatalf("cmp op %d", e.Op)
			}
		case *expr.Fib:
			typ := uint32(unix.RTN_UNICAST)
			if p.local {
				typ = unix.RTN_LOCAL
			}
			if !e.FlagDADDR || !e.ResultADDRTYPE {
				t.Fatalf("fib %+v", e)
			}
			regs[e.Register] = binary.NativeEndian.AppendUint32(nil, typ)
		case *expr.Ct:
			var st uint32
			switch {
			case e.Key == expr.CtKeySTATUS && p.dnat:
				st = ipsDstNAT
			case e.Key == expr.CtKeySTATE && p.established:
				st = expr.CtStateBitESTABLISHED
			case e.Key == expr.CtKeySTATE && !p.established:
				st = expr.CtStateBitNEW
			case e.Key != expr.CtKeySTATUS:
				t.Fatalf("ct key %d", e.Key)
			}
			regs[e.Register] = binary.NativeEndian.AppendUint32(nil, st)
		case *expr.Immediate:
			regs[e.Register] = e.Data
		case *expr.NAT:
			if e.Type != expr.NATTypeDestNAT || (e.Family != unix.NFPROTO_IPV4 && e.Family != unix.NFPROTO_IPV6) || !e.Specified {
				t.Fatalf("nat %+v", e)
			}
			a, _ := netip.AddrFromSlice(regs[e.RegAddrMin])
			return fmt.Sprintf("dnat %s", netip.AddrPortFrom(a, binary.BigEndian.Uint16(regs[e.RegProtoMin])))
		case *expr.Masq:
			return "masquerade"
		case *expr.Verdict:
			if e.Kind == expr.VerdictDrop {
				return "drop"
			}
			t.Fatalf("verdict %d", e.Kind)
		default:
			t.Fatalf("expression %T", e)
		}
	}
	return "continue"
}

// run evaluates a chain's rules in order and returns the first action.
func run(t *testing.T, plan []rulePlan, chain string, p packet) string {
	t.Helper()
	for _, r := range plan {
		if r.chain == chain {
			if a := eval(t, r.exprs, p); a != "" {
				return a
			}
		}
	}
	return ""
}

func TestNATPlan(t *testing.T) {
	plan := natPlan(netip.MustParsePrefix("10.1.0.0/16"), "pier0")
	cases := []struct {
		name string
		p    packet
		want string
	}{
		{"container to the world", packet{iif: "pier0", oif: "eth0", saddr: "10.1.2.3", daddr: "192.0.2.9"}, "masquerade"},
		{"container to a routed bridge-mate", packet{iif: "pier0", oif: "pier0", saddr: "10.1.2.3", daddr: "10.1.2.4"}, ""},
		{"other subnet", packet{iif: "x", oif: "eth0", saddr: "10.2.0.1", daddr: "192.0.2.9"}, ""},
		{"host loopback to a container", packet{iif: "lo", oif: "pier0", saddr: "127.0.0.1", daddr: "10.1.2.3"}, "masquerade"},
		{"loopback range", packet{iif: "lo", oif: "pier0", saddr: "127.8.9.10", daddr: "10.1.2.3"}, "masquerade"},
		{"loopback to a longer-named bridge", packet{iif: "lo", oif: "pier01", saddr: "127.0.0.1", daddr: "10.9.2.3"}, ""},
		{"hairpin after dnat", packet{iif: "pier0", oif: "pier0", saddr: "10.1.2.3", daddr: "10.1.2.4", dnat: true}, "masquerade"},
		{"host to a container", packet{iif: "lo", oif: "pier0", saddr: "10.1.0.1", daddr: "10.1.2.3"}, ""},
	}
	for _, c := range cases {
		if got := run(t, plan, chainPostrouting, c.p); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	for _, r := range plan {
		if r.tag != "nat pier0" {
			t.Errorf("tag %q", r.tag)
		}
	}
	// The way into the bridge: only published ports, replies, and the
	// bridge's own traffic.
	into := []struct {
		name string
		p    packet
		want string
	}{
		{"LAN to an unpublished port", packet{iif: "eth0", oif: "pier0", saddr: "192.0.2.9", daddr: "10.1.2.3"}, "drop"},
		{"another bridge to an unpublished port", packet{iif: "pier1", oif: "pier0", saddr: "10.2.0.2", daddr: "10.1.2.3"}, "drop"},
		{"LAN to a published port", packet{iif: "eth0", oif: "pier0", saddr: "192.0.2.9", daddr: "10.1.2.3", dnat: true}, ""},
		{"reply to a container's connection", packet{iif: "eth0", oif: "pier0", saddr: "192.0.2.9", daddr: "10.1.2.3", established: true}, ""},
		{"container to container", packet{iif: "pier0", oif: "pier0", saddr: "10.1.2.4", daddr: "10.1.2.3"}, ""},
		{"container to the world", packet{iif: "pier0", oif: "eth0", saddr: "10.1.2.3", daddr: "192.0.2.9"}, ""},
		{"into a longer-named bridge", packet{iif: "eth0", oif: "pier01", saddr: "192.0.2.9", daddr: "10.9.2.3"}, ""},
	}
	for _, c := range into {
		if got := run(t, plan, chainForward, c.p); got != c.want {
			t.Errorf("forward, %s: %q, want %q", c.name, got, c.want)
		}
	}
}

func TestNATPlan6(t *testing.T) {
	plan := natPlan6(netip.MustParsePrefix("fd42:0:0:7::/64"), "pier-x")
	cases := []struct {
		name, chain string
		p           packet
		want        string
	}{
		{"container to the world", chainPostrouting, packet{iif: "pier-x", oif: "eth0", saddr: "fd42:0:0:7::3", daddr: "2001:db8::9"}, "masquerade"},
		{"a neighbouring /64", chainPostrouting, packet{iif: "x", oif: "eth0", saddr: "fd42:0:0:8::3", daddr: "2001:db8::9"}, ""},
		{"bridge-mates", chainPostrouting, packet{iif: "pier-x", oif: "pier-x", saddr: "fd42:0:0:7::3", daddr: "fd42:0:0:7::4"}, ""},
		{"hairpin after dnat", chainPostrouting, packet{iif: "pier-x", oif: "pier-x", saddr: "fd42:0:0:7::3", daddr: "fd42:0:0:7::4", dnat: true}, "masquerade"},
		{"LAN to a container", chainForward, packet{iif: "eth0", oif: "pier-x", saddr: "2001:db8::9", daddr: "fd42:0:0:7::3"}, "drop"},
		{"reply to a container", chainForward, packet{iif: "eth0", oif: "pier-x", saddr: "2001:db8::9", daddr: "fd42:0:0:7::3", established: true}, ""},
	}
	for _, c := range cases {
		if got := run(t, plan, c.chain, c.p); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	for _, r := range plan {
		if r.tag != "nat pier-x" {
			t.Errorf("tag %q", r.tag)
		}
	}
}

func TestLocalnetPlan(t *testing.T) {
	plan := localnetPlan()
	cases := []struct {
		name string
		p    packet
		want string
	}{
		{"container to 127.0.0.1 via its gateway", packet{iif: "pier0", saddr: "10.1.2.3", daddr: "127.0.0.1"}, "drop"},
		{"LAN to 127.0.0.53", packet{iif: "eth0", saddr: "192.0.2.9", daddr: "127.0.0.53"}, "drop"},
		{"established is no excuse", packet{iif: "pier0", saddr: "10.1.2.3", daddr: "127.0.0.1", established: true}, "drop"},
		{"reply to the host's connection to a 127.0.0.1 port", packet{iif: "pier0", saddr: "10.1.2.3", daddr: "127.0.0.1", dnat: true, established: true}, ""},
		{"the host itself", packet{iif: "lo", saddr: "127.0.0.1", daddr: "127.0.0.1"}, ""},
		{"container to its gateway", packet{iif: "pier0", saddr: "10.1.2.3", daddr: "10.1.0.1"}, ""},
		{"128.0.0.1 is not loopback", packet{iif: "eth0", saddr: "192.0.2.9", daddr: "128.0.0.1"}, ""},
	}
	for _, c := range cases {
		if got := run(t, plan, chainInput, c.p); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	if plan[0].tag != localnetTag {
		t.Errorf("tag %q", plan[0].tag)
	}
}

// TestPublishPlan6: a port on every address also leads from the host's
// IPv6 addresses to the container's IPv6 one; an IPv6 host address only
// from itself; an IPv4 host address, or a container without IPv6, has no
// IPv6 rule. The loopback ::1 is refused.
func TestPublishPlan6(t *testing.T) {
	c6 := netip.MustParseAddr("fd42::5")
	any := publishPlan6(Port{Proto: "tcp", HostPort: 8080, ContainerIP: netip.MustParseAddr("10.1.0.5"), ContainerIP6: c6, ContainerPort: 80})
	one := publishPlan6(Port{Proto: "tcp", HostIP: netip.MustParseAddr("2001:db8::2"), HostPort: 8080, ContainerIP6: c6, ContainerPort: 80})
	cases := []struct {
		name  string
		plan  []rulePlan
		chain string
		p     packet
		want  string
	}{
		{"any local address", any, chainPrerouting, packet{saddr: "2001:db8::9", daddr: "2001:db8::2", local: true, proto: unix.IPPROTO_TCP, dport: 8080}, "dnat [fd42::5]:80"},
		{"from the host", any, chainOutput, packet{saddr: "2001:db8::2", daddr: "2001:db8::2", local: true, proto: unix.IPPROTO_TCP, dport: 8080}, "dnat [fd42::5]:80"},
		{"not local", any, chainPrerouting, packet{saddr: "2001:db8::9", daddr: "fd42::5", proto: unix.IPPROTO_TCP, dport: 8080}, ""},
		{"the bound address", one, chainPrerouting, packet{saddr: "2001:db8::9", daddr: "2001:db8::2", local: true, proto: unix.IPPROTO_TCP, dport: 8080}, "dnat [fd42::5]:80"},
		{"another local address", one, chainPrerouting, packet{saddr: "2001:db8::9", daddr: "2001:db8::3", local: true, proto: unix.IPPROTO_TCP, dport: 8080}, ""},
		{"self hairpin", any, chainPostrouting, packet{saddr: "fd42::5", daddr: "fd42::5", proto: unix.IPPROTO_TCP, dport: 80}, "masquerade"},
		{"neighbour is not self", any, chainPostrouting, packet{saddr: "fd42::4", daddr: "fd42::5", proto: unix.IPPROTO_TCP, dport: 80}, ""},
	}
	for _, c := range cases {
		if got := run(t, c.plan, c.chain, c.p); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	if p := publishPlan6(Port{Proto: "tcp", HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: 1, ContainerIP: netip.MustParseAddr("10.1.0.5"), ContainerIP6: c6, ContainerPort: 1}); p != nil {
		t.Errorf("an IPv4 host address has IPv6 rules: %v", p)
	}
	if p := publishPlan6(Port{Proto: "tcp", HostPort: 1, ContainerIP: netip.MustParseAddr("10.1.0.5"), ContainerPort: 1}); p != nil {
		t.Errorf("a container without IPv6 has IPv6 rules: %v", p)
	}
	if err := (Port{Proto: "tcp", HostIP: netip.IPv6Loopback(), HostPort: 1, ContainerIP6: c6, ContainerPort: 1}).check(); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("::1: %v", err)
	}
	if err := (Port{Proto: "tcp", HostIP: netip.MustParseAddr("2001:db8::2"), HostPort: 1, ContainerIP: netip.MustParseAddr("10.1.0.5"), ContainerPort: 1}).check(); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("an IPv6 host address for a container without IPv6: %v", err)
	}
}

func TestPublishPlan(t *testing.T) {
	any := publishPlan(Port{Proto: "tcp", HostPort: 8080, ContainerIP: netip.MustParseAddr("10.1.0.5"), ContainerPort: 80})
	lo := publishPlan(Port{Proto: "udp", HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: 53, ContainerIP: netip.MustParseAddr("10.1.0.6"), ContainerPort: 5353})
	cases := []struct {
		name  string
		plan  []rulePlan
		chain string
		p     packet
		want  string
	}{
		{"any local address", any, chainPrerouting, packet{saddr: "192.0.2.9", daddr: "192.0.2.2", local: true, proto: unix.IPPROTO_TCP, dport: 8080}, "dnat 10.1.0.5:80"},
		{"from the host", any, chainOutput, packet{saddr: "127.0.0.1", daddr: "127.0.0.1", local: true, proto: unix.IPPROTO_TCP, dport: 8080}, "dnat 10.1.0.5:80"},
		{"not local", any, chainPrerouting, packet{saddr: "192.0.2.9", daddr: "10.1.0.5", proto: unix.IPPROTO_TCP, dport: 8080}, ""},
		{"other port", any, chainPrerouting, packet{saddr: "192.0.2.9", daddr: "192.0.2.2", local: true, proto: unix.IPPROTO_TCP, dport: 8081}, ""},
		{"byte-swapped port", any, chainPrerouting, packet{saddr: "192.0.2.9", daddr: "192.0.2.2", local: true, proto: unix.IPPROTO_TCP, dport: 0x901f}, ""},
		{"udp on a tcp port", any, chainPrerouting, packet{saddr: "192.0.2.9", daddr: "192.0.2.2", local: true, proto: unix.IPPROTO_UDP, dport: 8080}, ""},
		{"self hairpin", any, chainPostrouting, packet{saddr: "10.1.0.5", daddr: "10.1.0.5", proto: unix.IPPROTO_TCP, dport: 80}, "masquerade"},
		{"neighbour is not self", any, chainPostrouting, packet{saddr: "10.1.0.4", daddr: "10.1.0.5", proto: unix.IPPROTO_TCP, dport: 80}, ""},
		{"bound address", lo, chainOutput, packet{saddr: "127.0.0.1", daddr: "127.0.0.1", local: true, proto: unix.IPPROTO_UDP, dport: 53}, "dnat 10.1.0.6:5353"},
		{"other local address", lo, chainPrerouting, packet{saddr: "192.0.2.9", daddr: "192.0.2.2", local: true, proto: unix.IPPROTO_UDP, dport: 53}, ""},
		// moby#41872: a LAN host sending to 127.0.0.1 through our MAC.
		{"127.0.0.1 port from the LAN", lo, chainPrerouting, packet{iif: "eth0", saddr: "192.0.2.9", daddr: "127.0.0.1", local: true, proto: unix.IPPROTO_UDP, dport: 53}, ""},
		{"127.0.0.1 port from a container", lo, chainPrerouting, packet{iif: "pier0", saddr: "10.1.0.5", daddr: "127.0.0.1", local: true, proto: unix.IPPROTO_UDP, dport: 53}, ""},
		{"127.0.0.1 port over lo", lo, chainPrerouting, packet{iif: "lo", saddr: "127.0.0.1", daddr: "127.0.0.1", local: true, proto: unix.IPPROTO_UDP, dport: 53}, "dnat 10.1.0.6:5353"},
		{"any-address port via 127.0.0.1 from the LAN", any, chainPrerouting, packet{iif: "eth0", saddr: "192.0.2.9", daddr: "127.0.0.1", local: true, proto: unix.IPPROTO_TCP, dport: 8080}, ""},
		{"any-address port via the LAN address", any, chainPrerouting, packet{iif: "eth0", saddr: "192.0.2.9", daddr: "192.0.2.2", local: true, proto: unix.IPPROTO_TCP, dport: 8080}, "dnat 10.1.0.5:80"},
	}
	for _, c := range cases {
		if got := run(t, c.plan, c.chain, c.p); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

func TestIsolatePlan(t *testing.T) {
	plan := isolatePlan("pier1", "pier0")
	if plan[0].tag != "isolate pier0 pier1" || isolateTag("pier0", "pier1") != plan[0].tag {
		t.Errorf("tag %q not symmetric", plan[0].tag)
	}
	for _, c := range []struct {
		iif, oif, want string
	}{{"pier0", "pier1", "drop"}, {"pier1", "pier0", "drop"}, {"pier0", "eth0", ""}, {"pier0", "pier0", ""}} {
		if got := run(t, plan, chainForward, packet{iif: c.iif, oif: c.oif}); got != c.want {
			t.Errorf("%s -> %s: %q, want %q", c.iif, c.oif, got, c.want)
		}
	}
}

func TestPortHandles(t *testing.T) {
	p := Port{Proto: "tcp", HostPort: 80, ContainerIP: netip.MustParseAddr("10.1.0.5"), ContainerPort: 80}
	if p.Handle() != "publish tcp 0.0.0.0 80" {
		t.Errorf("handle %q", p.Handle())
	}
	cases := []struct {
		a, b PortHandle
		want bool
	}{
		{"publish tcp 0.0.0.0 80", "publish tcp 127.0.0.1 80", true},
		{"publish tcp 127.0.0.2 80", "publish tcp 127.0.0.1 80", false},
		{"publish tcp 127.0.0.1 80", "publish tcp 127.0.0.1 80", true},
		{"publish udp 0.0.0.0 80", "publish tcp 0.0.0.0 80", false},
		{"publish tcp 0.0.0.0 81", "publish tcp 0.0.0.0 80", false},
		{"nat pier0", "publish tcp 0.0.0.0 80", false},
	}
	for _, c := range cases {
		if got := c.a.conflicts(c.b); got != c.want {
			t.Errorf("%q vs %q: %v", c.a, c.b, got)
		}
	}
	bad := []Port{
		{Proto: "sctp", HostPort: 1, ContainerIP: p.ContainerIP, ContainerPort: 1},
		{Proto: "tcp", HostPort: 0, ContainerIP: p.ContainerIP, ContainerPort: 1},
		{Proto: "tcp", HostPort: 1, ContainerIP: netip.MustParseAddr("fd00::1"), ContainerPort: 1},
	}
	for _, b := range bad {
		if b.check() == nil {
			t.Errorf("%+v accepted", b)
		}
	}
}

func TestVethName(t *testing.T) {
	if n := VethName("3f2a9c81d0e7aa"); n != "pier3f2a9c8" {
		t.Errorf("hex id: %s", n)
	}
	a, b := VethName("web"), VethName("web2")
	if len(a) != 11 || a == b || a != VethName("web") {
		t.Errorf("non-hex ids: %s %s", a, b)
	}
	if n := randomVethName(); len(n) != 11 || checkIfName(n) != nil {
		t.Errorf("random name %q", n)
	}
}
