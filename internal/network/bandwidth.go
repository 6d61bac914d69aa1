package network

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/pier-engine/pier/internal/errdefs"
)

// Limit caps a container's bandwidth on the host side of its veth, in bits
// per second; 0 lifts that direction's limit. Directions are the
// container's. Ingress (towards the container) leaves the host veth: a
// token bucket (tbf) as its root qdisc queues what exceeds the rate.
// Egress (from the container) enters the host veth, where nothing can
// queue; it is redirected (ingress qdisc, u32 match-all, mirred) to an ifb
// device, IfbName(ifname), whose own tbf shapes it. (A policer would be
// simpler but drops instead of queueing, and this kernel has no act_police.)
// Calling Limit again replaces both settings; Detach removes the ifb.
func Limit(ifname string, egressBits, ingressBits uint64) error {
	link, err := netlink.LinkByName(ifname)
	if err != nil {
		return fmt.Errorf("limit %s: look up: %w", ifname, err)
	}
	if err := clearLimits(link); err != nil {
		return err
	}
	if ingressBits > 0 {
		if err := netlink.QdiscReplace(tbfFor(link, ingressBits)); err != nil {
			return fmt.Errorf("limit %s: tbf %d bit/s: %w", ifname, ingressBits, err)
		}
	}
	if egressBits > 0 {
		if err := limitEgress(link, egressBits); err != nil {
			_ = clearLimits(link)
			return err
		}
	}
	return nil
}

// IfbName is the ifb device that shapes the traffic a host veth receives:
// "pifb" and the veth's suffix after "pier".
func IfbName(veth string) string {
	return "pifb" + strings.TrimPrefix(veth, vethPrefix)
}

func limitEgress(link netlink.Link, bits uint64) error {
	name := link.Attrs().Name
	attrs := netlink.NewLinkAttrs()
	attrs.Name = IfbName(name)
	if err := netlink.LinkAdd(&netlink.Ifb{LinkAttrs: attrs}); err != nil {
		return fmt.Errorf("limit %s: add ifb %s: %w", name, attrs.Name, err)
	}
	ifb, err := netlink.LinkByName(attrs.Name)
	if err != nil {
		return fmt.Errorf("limit %s: look up ifb %s: %w", name, attrs.Name, err)
	}
	if err := netlink.LinkSetUp(ifb); err != nil {
		return fmt.Errorf("limit %s: set %s up: %w", name, attrs.Name, err)
	}
	if err := netlink.QdiscReplace(tbfFor(ifb, bits)); err != nil {
		return fmt.Errorf("limit %s: tbf %d bit/s on %s: %w", name, bits, attrs.Name, err)
	}
	ingress := &netlink.Ingress{QdiscAttrs: netlink.QdiscAttrs{
		LinkIndex: link.Attrs().Index, Parent: netlink.HANDLE_INGRESS, Handle: netlink.MakeHandle(0xffff, 0)}}
	if err := netlink.QdiscAdd(ingress); err != nil {
		return fmt.Errorf("limit %s: add ingress qdisc: %w", name, err)
	}
	redirect := &netlink.U32{
		FilterAttrs: netlink.FilterAttrs{
			LinkIndex: link.Attrs().Index, Parent: netlink.MakeHandle(0xffff, 0),
			Priority: 1, Protocol: unix.ETH_P_ALL,
		},
		// One key with mask 0 matches every packet.
		Sel:     &netlink.TcU32Sel{Keys: []netlink.TcU32Key{{}}, Flags: netlink.TC_U32_TERMINAL},
		Actions: []netlink.Action{netlink.NewMirredAction(ifb.Attrs().Index)},
	}
	if err := netlink.FilterAdd(redirect); err != nil {
		return fmt.Errorf("limit %s: redirect to %s: %w", name, attrs.Name, err)
	}
	return nil
}

// clearLimits deletes pier's root and ingress qdiscs; absent ones are fine.
func clearLimits(link netlink.Link) error {
	qs, err := netlink.QdiscList(link)
	if err != nil {
		return fmt.Errorf("limit %s: list qdiscs: %w", link.Attrs().Name, err)
	}
	if err := deleteIfb(IfbName(link.Attrs().Name)); err != nil {
		return fmt.Errorf("limit %s: %w", link.Attrs().Name, err)
	}
	for _, q := range qs {
		a := q.Attrs()
		if a.Parent != netlink.HANDLE_ROOT && a.Parent != netlink.HANDLE_INGRESS {
			continue
		}
		if q.Type() != "tbf" && q.Type() != "ingress" {
			continue
		}
		if err := netlink.QdiscDel(q); err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("limit %s: delete %s qdisc: %w", link.Attrs().Name, q.Type(), err)
		}
	}
	return nil
}

// tbfFor sizes the bucket for about 20 ms of traffic (at least a few
// full-size frames, so slow rates still pass a packet) and the queue for
// 50 ms more.
func tbfFor(link netlink.Link, bits uint64) *netlink.Tbf {
	rate := bits / 8
	burst := max(rate/50, 4*1514)
	return &netlink.Tbf{
		QdiscAttrs: netlink.QdiscAttrs{LinkIndex: link.Attrs().Index, Parent: netlink.HANDLE_ROOT, Handle: netlink.MakeHandle(1, 0)},
		Rate:       rate,
		Buffer:     uint32(min(burst, math.MaxUint32)),
		Limit:      uint32(min(burst+rate/20, math.MaxUint32)),
	}
}

// deleteIfb removes an endpoint's ifb device, if there is one.
func deleteIfb(name string) error {
	l, err := linkIfAny(name)
	if err != nil {
		return fmt.Errorf("look up ifb %s: %w", name, err)
	}
	if l == nil {
		return nil
	}
	if l.Type() != "ifb" {
		return fmt.Errorf("%s is a %s, not an ifb: %w", name, l.Type(), errdefs.ErrConflict)
	}
	if err := netlink.LinkDel(l); err != nil {
		return fmt.Errorf("delete ifb %s: %w", name, err)
	}
	return nil
}
