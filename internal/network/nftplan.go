package network

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"

	"github.com/pier-engine/pier/internal/errdefs"
)

// This file plans rules as pure data; nft.go applies them. Each rule
// carries a tag in its comment (nftables user data) naming what it belongs
// to, so rules are found and removed by tag, across daemon restarts, without
// keeping kernel rule handles anywhere.

// TableName is pier's nftables table, family ip. pier never touches any
// other table.
const TableName = "pier"

// Chain names in pier's table.
const (
	chainPrerouting  = "prerouting"  // nat, dstnat: published ports from outside
	chainOutput      = "output"      // nat, dstnat: published ports from the host
	chainPostrouting = "postrouting" // nat, srcnat: masquerade
	chainForward     = "forward"     // filter: isolation between networks, no way in unpublished
	chainInput       = "input"       // filter: nothing reaches 127.0.0.0/8 from outside
)

// rulePlan is one rule to add: its chain, its tag and its expressions.
type rulePlan struct {
	chain string
	tag   string
	exprs []expr.Any
}

// Tags. A bridge's rules are tagged "nat <bridge>"; isolation between two
// bridges "isolate <a> <b>" with a < b; a published port by its PortHandle;
// the loopback guard, shared by every bridge with NAT, "localnet".
func natTag(bridge string) string { return "nat " + bridge }

const localnetTag = "localnet"

func isolateTag(a, b string) string {
	if b < a {
		a, b = b, a
	}
	return "isolate " + a + " " + b
}

var loopbackNet = netip.MustParsePrefix("127.0.0.0/8")

// natPlan masquerades, for one bridge:
//   - traffic from its subnet leaving through any other interface (Docker's
//     rule), so containers reach beyond the host;
//   - traffic from 127.0.0.0/8 leaving through the bridge: the host reaching
//     a published port on 127.0.0.1 (see the package doc);
//   - traffic both entering and leaving through the bridge after DNAT (a
//     container reaching a neighbour, or itself, through a published port):
//     without it the neighbour would answer the client directly, from an
//     address the client never dialled.
//
// and, in the forward chain, drops new connections into the bridge from
// any other interface unless a published port DNATed them (Docker's rule):
// with ip_forward on, a LAN host routing the subnet through this host would
// otherwise reach every port of every container, published or not. Replies
// to the containers' own connections are established and pass; traffic
// between two containers of the bridge enters and leaves through it.
func natPlan(subnet netip.Prefix, bridge string) []rulePlan {
	tag := natTag(bridge)
	masq := &expr.Masq{}
	return []rulePlan{
		{chainPostrouting, tag, join(matchSaddr(subnet), matchIfname(expr.MetaKeyOIFNAME, expr.CmpOpNeq, bridge), masq)},
		{chainPostrouting, tag, join(matchSaddr(loopbackNet), matchIfname(expr.MetaKeyOIFNAME, expr.CmpOpEq, bridge), masq)},
		{chainPostrouting, tag, join(
			matchIfname(expr.MetaKeyIIFNAME, expr.CmpOpEq, bridge),
			matchIfname(expr.MetaKeyOIFNAME, expr.CmpOpEq, bridge),
			matchDNATed(), masq)},
		{chainForward, tag, join(
			matchIfname(expr.MetaKeyOIFNAME, expr.CmpOpEq, bridge),
			matchIfname(expr.MetaKeyIIFNAME, expr.CmpOpNeq, bridge),
			matchNotEstablished(), matchNotDNATed(), &expr.Verdict{Kind: expr.VerdictDrop})},
	}
}

// natPlan6 is natPlan for a bridge's IPv6 subnet, in the ip6 table:
// masquerade leaving through another interface, masquerade of a
// container reaching a neighbour after DNAT, and no new connection into
// the bridge from elsewhere unless DNATed. IPv6 has no route_localnet, so
// natPlan's 127.0.0.0/8 rule has no counterpart.
func natPlan6(subnet netip.Prefix, bridge string) []rulePlan {
	p := natPlan(subnet, bridge)
	return []rulePlan{p[0], p[2], p[3]}
}

// localnetPlan drops packets to 127.0.0.0/8 that arrive on any interface
// but lo, unless conntrack says a DNAT of pier's made them (as kube-proxy
// does). EnsureNAT sets route_localnet=1 on bridges, which stops the kernel
// from discarding such packets as martians; without this rule a container
// (CAP_NET_RAW is in the default set) could send to 127.0.0.1 through its
// gateway and reach every host service bound to loopback
// (CVE-2020-8558). The one legitimate case is the reply to the host's own
// connection to a port published on 127.0.0.1: un-masqueraded back to
// 127.0.0.1, it arrives on the bridge, and its connection was DNATed.
func localnetPlan() []rulePlan {
	return []rulePlan{{chainInput, localnetTag, join(
		matchIfname(expr.MetaKeyIIFNAME, expr.CmpOpNeq, "lo"),
		matchDaddrIn(loopbackNet, expr.CmpOpEq),
		matchNotDNATed(), &expr.Verdict{Kind: expr.VerdictDrop})}}
}

// isolatePlan drops forwarding between two bridges, both ways.
func isolatePlan(a, b string) []rulePlan {
	tag := isolateTag(a, b)
	drop := &expr.Verdict{Kind: expr.VerdictDrop}
	return []rulePlan{
		{chainForward, tag, join(matchIfname(expr.MetaKeyIIFNAME, expr.CmpOpEq, a), matchIfname(expr.MetaKeyOIFNAME, expr.CmpOpEq, b), drop)},
		{chainForward, tag, join(matchIfname(expr.MetaKeyIIFNAME, expr.CmpOpEq, b), matchIfname(expr.MetaKeyOIFNAME, expr.CmpOpEq, a), drop)},
	}
}

// Port is one published port: -p [HostIP:]HostPort:ContainerPort/Proto.
// On a network with IPv6, ContainerIP6 is the container's IPv6 address: a
// port on every address (HostIP zero or unspecified) then also leads there
// from the host's IPv6 addresses, and an IPv6 HostIP leads only there
// (ContainerIP may then be zero).
type Port struct {
	Proto         string     // "tcp" or "udp"
	HostIP        netip.Addr // the unspecified address (or zero) for every local address
	HostPort      uint16
	ContainerIP   netip.Addr
	ContainerIP6  netip.Addr
	ContainerPort uint16
}

// hostIs6 reports a port published on one IPv6 host address.
func (p Port) hostIs6() bool { return p.HostIP.IsValid() && p.HostIP.Is6() && !p.HostIP.Is4In6() }

// PortHandle names a published port; Unpublish takes it. It is the rules'
// tag, "publish <proto> <hostIP> <hostPort>", so a restarted daemon can
// rebuild it from what it recorded.
type PortHandle string

// Handle is the PortHandle of p.
func (p Port) Handle() PortHandle {
	return PortHandle(fmt.Sprintf("publish %s %s %d", p.Proto, p.hostIP(), p.HostPort))
}

func (p Port) hostIP() netip.Addr {
	if !p.HostIP.IsValid() {
		return netip.IPv4Unspecified()
	}
	return p.HostIP
}

// parse splits a handle back into protocol, host address and port.
func (h PortHandle) parse() (proto string, ip netip.Addr, port uint16, ok bool) {
	f := strings.Fields(string(h))
	if len(f) != 4 || f[0] != "publish" {
		return "", netip.Addr{}, 0, false
	}
	ip, err := netip.ParseAddr(f[2])
	n, err2 := strconv.ParseUint(f[3], 10, 16)
	if err != nil || err2 != nil {
		return "", netip.Addr{}, 0, false
	}
	return f[1], ip, uint16(n), true
}

// conflicts reports whether two published ports claim the same host
// socket: same protocol and port, and the same address or either the
// unspecified one.
func (h PortHandle) conflicts(o PortHandle) bool {
	p1, a1, n1, ok1 := h.parse()
	p2, a2, n2, ok2 := o.parse()
	return ok1 && ok2 && p1 == p2 && n1 == n2 && (a1 == a2 || a1.IsUnspecified() || a2.IsUnspecified())
}

func (p Port) check() error {
	if p.Proto != "tcp" && p.Proto != "udp" {
		return fmt.Errorf("publish: protocol %q: %w", p.Proto, errdefs.ErrInvalidArgument)
	}
	switch {
	case p.hostIs6() && (!p.ContainerIP6.Is6() || p.HostIP.IsLoopback()):
		// ::1 cannot be DNATed out of the host: IPv6 has no route_localnet.
		return fmt.Errorf("publish: host address %s: needs a container IPv6 address (have %q) and not the loopback: %w", p.HostIP, p.ContainerIP6, errdefs.ErrInvalidArgument)
	case !p.hostIs6() && (p.HostIP.IsValid() && !p.HostIP.Is4() || !p.ContainerIP.Is4()):
		return fmt.Errorf("publish: addresses %s, %s: not IPv4: %w", p.HostIP, p.ContainerIP, errdefs.ErrInvalidArgument)
	case p.ContainerIP6.IsValid() && !p.ContainerIP6.Is6():
		return fmt.Errorf("publish: container address %s: not IPv6: %w", p.ContainerIP6, errdefs.ErrInvalidArgument)
	}
	if p.HostPort == 0 || p.ContainerPort == 0 {
		return fmt.Errorf("publish: port 0: %w", errdefs.ErrInvalidArgument)
	}
	return nil
}

// publishPlan DNATs the host port to the container, in prerouting (other
// machines, other networks) and output (the host itself). A port on the
// unspecified address matches every local destination address, as the
// kernel's fib says (fib daddr type local).
//
// Loopback destinations match only for the host itself (moby#41872): a DNAT
// in prerouting happens before the routing decision that would discard a
// packet to 127.0.0.1 arriving from the LAN as a martian, so a LAN host
// sending to 127.0.0.1 through this host's MAC would reach a port published
// on 127.0.0.1. In prerouting a 127.0.0.0/8 host address therefore also
// requires iif lo, and the unspecified address excludes 127.0.0.0/8 (the
// host's own connections are translated in output anyway).
func publishPlan(p Port) []rulePlan {
	var dst, pre []expr.Any
	switch ip := p.hostIP(); {
	case ip.IsUnspecified():
		dst = matchLocalDaddr()
		pre = join(matchDaddrIn(loopbackNet, expr.CmpOpNeq), dst)
	case loopbackNet.Contains(ip):
		dst = matchDaddr(ip)
		pre = join(matchIfname(expr.MetaKeyIIFNAME, expr.CmpOpEq, "lo"), dst)
	default:
		dst = matchDaddr(ip)
		pre = dst
	}
	return portNAT(p, p.ContainerIP, unix.NFPROTO_IPV4, pre, dst)
}

// publishPlan6 is publishPlan in the ip6 table, to the container's IPv6
// address: from every local IPv6 address (the kernel drops ::1 arriving
// from elsewhere before prerouting, so no loopback rule is needed) or from
// the one IPv6 host address given. Empty when the port has no IPv6 side.
func publishPlan6(p Port) []rulePlan {
	if !p.ContainerIP6.IsValid() || (p.HostIP.IsValid() && !p.hostIs6()) {
		return nil // an IPv4 host address, 0.0.0.0 included, is IPv4 only
	}
	dst := matchLocalDaddr()
	if p.hostIs6() && !p.HostIP.IsUnspecified() {
		dst = matchDaddr(p.HostIP)
	}
	return portNAT(p, p.ContainerIP6, unix.NFPROTO_IPV6, dst, dst)
}

// portNAT is a published port's rules once its host side is matched (pre
// in prerouting, dst in output): DNAT to ctr at the container port in the
// family's table, and the hairpin masquerade of a container reaching its
// own published port: the reply would go from itself to itself inside the
// namespace and never be un-NATed, so the request is masqueraded to the
// gateway (Docker's per-port rule).
func portNAT(p Port, ctr netip.Addr, family uint32, pre, dst []expr.Any) []rulePlan {
	proto := byte(unix.IPPROTO_TCP)
	if p.Proto == "udp" {
		proto = unix.IPPROTO_UDP
	}
	dnat := join(matchL4Port(proto, p.HostPort),
		&expr.Immediate{Register: 1, Data: ctr.AsSlice()},
		&expr.Immediate{Register: 2, Data: be16(p.ContainerPort)},
		&expr.NAT{Type: expr.NATTypeDestNAT, Family: family, RegAddrMin: 1, RegProtoMin: 2, Specified: true},
	)
	self := join(matchSaddr(netip.PrefixFrom(ctr, ctr.BitLen())), matchDaddr(ctr), matchL4Port(proto, p.ContainerPort), &expr.Masq{})
	tag := string(p.Handle())
	return []rulePlan{{chainPrerouting, tag, join(pre, dnat)}, {chainOutput, tag, join(dst, dnat)}, {chainPostrouting, tag, self}}
}

// matchL4Port matches the transport protocol and destination port.
func matchL4Port(proto byte, port uint16) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: be16(port)},
	}
}

func join(parts ...any) []expr.Any {
	var out []expr.Any
	for _, p := range parts {
		switch v := p.(type) {
		case []expr.Any:
			out = append(out, v...)
		case expr.Any:
			out = append(out, v)
		}
	}
	return out
}

func be16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }

// ifnameBytes is an interface name as the kernel compares it: NUL-padded
// to IFNAMSIZ, so "pier0" does not match "pier01".
func ifnameBytes(name string) []byte {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, name)
	return b
}

func matchIfname(key expr.MetaKey, op expr.CmpOp, name string) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: key, Register: 1},
		&expr.Cmp{Op: op, Register: 1, Data: ifnameBytes(name)},
	}
}

// IPv4 header offsets of the addresses.
const (
	offSaddr = 12
	offDaddr = 16
)

// IPv6 header offsets of the addresses.
const (
	offSaddr6 = 8
	offDaddr6 = 24
)

// matchSaddr is "ip saddr p", or "ip6 saddr p" for an IPv6 prefix (in
// pier's ip6 table).
func matchSaddr(p netip.Prefix) []expr.Any {
	if p.Addr().Is6() {
		return matchIn(offSaddr6, p, expr.CmpOpEq)
	}
	return matchIn(offSaddr, p, expr.CmpOpEq)
}

// matchDaddrIn is "ip daddr p" (op Eq) or "ip daddr != p" (op Neq).
func matchDaddrIn(p netip.Prefix, op expr.CmpOp) []expr.Any { return matchIn(offDaddr, p, op) }

func matchIn(off uint32, p netip.Prefix, op expr.CmpOp) []expr.Any {
	n := uint32(p.Addr().BitLen() / 8)
	mask := make([]byte, n)
	for i := range p.Bits() {
		mask[i/8] |= 0x80 >> (i % 8)
	}
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: n},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: n, Mask: mask, Xor: make([]byte, n)},
		&expr.Cmp{Op: op, Register: 1, Data: p.Masked().Addr().AsSlice()},
	}
}

// matchDaddr is "ip daddr a", or "ip6 daddr a" for an IPv6 address.
func matchDaddr(a netip.Addr) []expr.Any {
	off, n := uint32(offDaddr), uint32(4)
	if a.Is6() {
		off, n = offDaddr6, 16
	}
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: n},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: a.AsSlice()},
	}
}

// matchLocalDaddr is "fib daddr type local"; the kernel stores the route
// type in host byte order.
func matchLocalDaddr() []expr.Any {
	return []expr.Any{
		&expr.Fib{Register: 1, FlagDADDR: true, ResultADDRTYPE: true},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binary.NativeEndian.AppendUint32(nil, unix.RTN_LOCAL)},
	}
}

// ipsDstNAT is IPS_DST_NAT of the conntrack status bits.
const ipsDstNAT = 1 << 5

// matchDNATed is "ct status dnat".
func matchDNATed() []expr.Any { return matchCtBits(expr.CtKeySTATUS, ipsDstNAT, expr.CmpOpNeq) }

// matchNotDNATed is "ct status & dnat == 0".
func matchNotDNATed() []expr.Any { return matchCtBits(expr.CtKeySTATUS, ipsDstNAT, expr.CmpOpEq) }

// matchNotEstablished is "ct state & (established | related) == 0".
func matchNotEstablished() []expr.Any {
	return matchCtBits(expr.CtKeySTATE, expr.CtStateBitESTABLISHED|expr.CtStateBitRELATED, expr.CmpOpEq)
}

// matchCtBits compares conntrack's key & bits with zero: op Neq is "some
// bit set", op Eq "none set".
func matchCtBits(key expr.CtKey, bits uint32, op expr.CmpOp) []expr.Any {
	return []expr.Any{
		&expr.Ct{Register: 1, Key: key},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binary.NativeEndian.AppendUint32(nil, bits), Xor: make([]byte, 4)},
		&expr.Cmp{Op: op, Register: 1, Data: make([]byte, 4)},
	}
}

// baseChains are the chains of pier's table.
func baseChains(t *nftables.Table) []*nftables.Chain {
	accept := nftables.ChainPolicyAccept
	return []*nftables.Chain{
		{Name: chainPrerouting, Table: t, Type: nftables.ChainTypeNAT, Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityNATDest},
		{Name: chainOutput, Table: t, Type: nftables.ChainTypeNAT, Hooknum: nftables.ChainHookOutput, Priority: nftables.ChainPriorityNATDest},
		{Name: chainPostrouting, Table: t, Type: nftables.ChainTypeNAT, Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource},
		{Name: chainForward, Table: t, Type: nftables.ChainTypeFilter, Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter, Policy: &accept},
		{Name: chainInput, Table: t, Type: nftables.ChainTypeFilter, Hooknum: nftables.ChainHookInput, Priority: nftables.ChainPriorityFilter, Policy: &accept},
	}
}
