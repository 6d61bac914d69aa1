package network

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/container"
	apinet "github.com/moby/moby/api/types/network"

	"github.com/pier-engine/pier/internal/errdefs"
	kernel "github.com/pier-engine/pier/internal/network"
)

// portPlan lists the ports to publish for a container: its -p bindings,
// and with -P every exposed port (the image's and the config's) not bound
// already, on a free host port. A host port 0 or "" is picked free too.
func portPlan(host *container.HostConfig, exposed []apinet.Port, ip, ip6 netip.Addr) ([]kernel.Port, error) {
	var out []kernel.Port
	bound := map[apinet.Port]bool{}
	keys := make([]apinet.Port, 0, len(host.PortBindings))
	for p := range host.PortBindings {
		keys = append(keys, p)
	}
	slices.SortFunc(keys, func(a, b apinet.Port) int { return strings.Compare(a.String(), b.String()) })
	for _, p := range keys {
		bound[p] = true
		for _, b := range host.PortBindings[p] {
			np, ok, err := bindingPort(p, b, ip, ip6)
			if err != nil {
				return nil, err
			}
			if ok {
				out = append(out, np)
			}
		}
	}
	if host.PublishAllPorts {
		for _, p := range exposed {
			if !bound[p] {
				bound[p] = true
				np, _, err := bindingPort(p, apinet.PortBinding{}, ip, ip6)
				if err != nil {
					return nil, err
				}
				out = append(out, np)
			}
		}
	}
	return out, nil
}

// bindingPort turns one binding into a port to publish, as dockerd reads
// the host address: none is every address, IPv4 and, on a network with
// IPv6 (ip6 valid), IPv6 too; 0.0.0.0 or another IPv4 address is IPv4
// only; :: or another IPv6 address is IPv6 only, skipped for a container
// without IPv6 (dockerd would proxy it to the IPv4 address; pier has no
// proxy).
func bindingPort(p apinet.Port, b apinet.PortBinding, ip, ip6 netip.Addr) (kernel.Port, bool, error) {
	proto := string(p.Proto())
	if proto != "tcp" && proto != "udp" {
		return kernel.Port{}, false, fmt.Errorf("publish %s: protocol %s: %w", p, proto, errdefs.ErrNotImplemented)
	}
	hostIP := b.HostIP.Unmap()
	np := kernel.Port{Proto: proto, HostIP: hostIP, ContainerIP: ip, ContainerIP6: ip6, ContainerPort: p.Num()}
	switch {
	case hostIP.Is6() && !ip6.IsValid():
		return kernel.Port{}, false, nil
	case hostIP.Is6():
		np.ContainerIP = netip.Addr{}
	case hostIP.Is4():
		np.ContainerIP6 = netip.Addr{}
	}
	hp := b.HostPort
	if lo, _, ok := strings.Cut(hp, "-"); ok {
		hp = lo // a range offered: its first port
	}
	if hp != "" && hp != "0" {
		n, err := strconv.ParseUint(hp, 10, 16)
		if err != nil || n == 0 {
			return kernel.Port{}, false, fmt.Errorf("invalid host port %q for %s: %w", b.HostPort, p, errdefs.ErrInvalidArgument)
		}
		np.HostPort = uint16(n)
		return np, true, nil
	}
	n, err := freePort(proto, hostIP)
	if err != nil {
		return kernel.Port{}, false, err
	}
	np.HostPort = n
	return np, true, nil
}

// askedFor tells whether host port n was asked for by number in one of
// host's bindings (rather than picked free).
func askedFor(host *container.HostConfig, n uint16) bool {
	for _, bs := range host.PortBindings {
		for _, b := range bs {
			lo, _, _ := strings.Cut(b.HostPort, "-")
			if v, err := strconv.ParseUint(lo, 10, 16); err == nil && v != 0 && uint16(v) == n {
				return true
			}
		}
	}
	return false
}

// freePort asks the kernel for a free port in its ephemeral range by
// binding port 0, and lets it go: the published port is DNAT, with no
// socket of its own.
func freePort(proto string, ip netip.Addr) (uint16, error) {
	addr := net.JoinHostPort(ipOrAny(ip), "0")
	if proto == "udp" {
		c, err := net.ListenPacket("udp"+family(ip), addr)
		if err != nil {
			return 0, fmt.Errorf("pick a free udp port: %w", err)
		}
		defer c.Close()
		return uint16(c.LocalAddr().(*net.UDPAddr).Port), nil
	}
	l, err := net.Listen("tcp"+family(ip), addr)
	if err != nil {
		return 0, fmt.Errorf("pick a free tcp port: %w", err)
	}
	defer l.Close()
	return uint16(l.Addr().(*net.TCPAddr).Port), nil
}

// family is the suffix of Go's network names for ip: "6" for an IPv6
// address, else "4".
func family(ip netip.Addr) string {
	if ip.Is6() {
		return "6"
	}
	return "4"
}

func ipOrAny(ip netip.Addr) string {
	if !ip.IsValid() {
		return "0.0.0.0"
	}
	return ip.String()
}

// exposedPorts are the ports the image and the config expose.
func (c *Controller) exposedPorts(r Container) []apinet.Port {
	set := map[apinet.Port]bool{}
	for p := range r.Config.ExposedPorts {
		set[p] = true
	}
	for _, s := range c.containers.ImagePorts(r.Image) {
		if p, err := apinet.ParsePort(s); err == nil {
			set[p] = true
		}
	}
	out := make([]apinet.Port, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b apinet.Port) int { return strings.Compare(a.String(), b.String()) })
	return out
}
