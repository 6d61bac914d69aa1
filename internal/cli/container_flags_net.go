package cli

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/docker/go-connections/nat"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
)

// The DriverOpts keys of pier's bandwidth extension, in the endpoint of the
// container's network: what the container sends and what it receives, as
// tc-style rates ("10mbit").
const (
	egressRateOpt  = "pier.bandwidth.egress"
	ingressRateOpt = "pier.bandwidth.ingress"
)

// networkOptions are the flags that shape the container's endpoint.
type networkOptions struct {
	name, ip, ip6, mac    string
	aliases               listValue
	egress, ingress       rateValue
	publish, expose       listValue
	publishAll            bool
	dns, dnsSearch, dnsOp listValue
	extraHosts            listValue
}

// ports turns -p and --expose into Config.ExposedPorts and
// HostConfig.PortBindings. -p takes [ip:][hostPort[-range]:]containerPort
// [-range][/proto] or docker's long form published=,target=,protocol=;
// ranges expand to one entry per port, as in docker.
func (n *networkOptions) ports() (network.PortSet, network.PortMap, error) {
	specs, err := longPublishForms(n.publish.values)
	if err != nil {
		return nil, nil, err
	}
	natPorts, natBindings, err := nat.ParsePortSpecs(specs)
	if err != nil {
		return nil, nil, err
	}
	exposed, bindings := network.PortSet{}, network.PortMap{}
	for p := range natPorts {
		port, err := network.ParsePort(string(p))
		if err != nil {
			return nil, nil, err
		}
		exposed[port] = struct{}{}
	}
	for p, list := range natBindings {
		port, err := network.ParsePort(string(p))
		if err != nil {
			return nil, nil, err
		}
		out := []network.PortBinding{}
		for _, b := range list {
			var ip netip.Addr
			if b.HostIP != "" {
				if ip, err = netip.ParseAddr(b.HostIP); err != nil {
					return nil, nil, fmt.Errorf("invalid host IP %q: %w", b.HostIP, err)
				}
			}
			out = append(out, network.PortBinding{HostIP: ip, HostPort: b.HostPort})
		}
		bindings[port] = out
	}
	for _, e := range n.expose.values {
		r, err := network.ParsePortRange(e)
		if err != nil {
			return nil, nil, fmt.Errorf("invalid range format for --expose: %w", err)
		}
		for p := range r.All() {
			exposed[p] = struct{}{}
		}
	}
	if len(exposed) == 0 {
		exposed = nil
	}
	if len(bindings) == 0 {
		bindings = nil
	}
	return exposed, bindings, nil
}

// longPublishForms rewrites -p published=8080,target=80[,protocol=udp] to
// the short form.
func longPublishForms(list []string) ([]string, error) {
	var out []string
	for _, p := range list {
		if !strings.Contains(p, "=") {
			out = append(out, p)
			continue
		}
		params := map[string]string{"protocol": "tcp"}
		for param := range strings.SplitSeq(p, ",") {
			k, v, ok := strings.Cut(param, "=")
			if !ok || k == "" {
				return nil, fmt.Errorf("invalid publish opts format (should be name=value but got '%s')", param)
			}
			params[k] = v
		}
		out = append(out, params["published"]+":"+params["target"]+"/"+params["protocol"])
	}
	return out, nil
}

// endpoints is NetworkingConfig: the container's network ("bridge" when
// --network is not given) with its aliases, address and pier's bandwidth
// options; nil when no such flag was given.
func (n *networkOptions) endpoints() (*network.NetworkingConfig, error) {
	name := n.name
	if name == "" || name == "default" {
		name = "bridge"
	}
	mode := container.NetworkMode(name)
	ep := &network.EndpointSettings{Aliases: n.aliases.values}
	if len(ep.Aliases) > 0 && !mode.IsUserDefined() {
		return nil, errors.New("network-scoped aliases are only supported for user-defined networks")
	}
	if n.ip != "" || n.ip6 != "" {
		ipam, err := endpointIPAM(n.ip, n.ip6)
		if err != nil {
			return nil, err
		}
		ep.IPAMConfig = ipam
	}
	if n.mac != "" {
		hw, err := net.ParseMAC(n.mac)
		if err != nil || len(hw) != 6 {
			return nil, fmt.Errorf("invalid argument %q for \"--mac-address\" flag: not an Ethernet address", n.mac)
		}
		if mode.IsNone() || mode.IsHost() || mode.IsContainer() {
			return nil, fmt.Errorf("--mac-address needs a network the container has its own link on, not %q", name)
		}
		ep.MacAddress = network.HardwareAddr(hw)
	}
	for _, r := range []struct {
		flag, key string
		v         rateValue
	}{{"--egress-rate", egressRateOpt, n.egress}, {"--ingress-rate", ingressRateOpt, n.ingress}} {
		if r.v.text == "" {
			continue
		}
		if mode.IsNone() || mode.IsHost() || mode.IsContainer() {
			return nil, fmt.Errorf("%s needs a network the container has its own link on (bridge or a user-defined one), not %q", r.flag, name)
		}
		if ep.DriverOpts == nil {
			ep.DriverOpts = map[string]string{}
		}
		ep.DriverOpts[r.key] = r.v.text
	}
	if ep.Aliases == nil && ep.IPAMConfig == nil && ep.DriverOpts == nil && ep.MacAddress == nil {
		return nil, nil
	}
	return &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{name: ep}}, nil
}

// dnsAddrs converts the validated --dns values.
func dnsAddrs(list []string) []netip.Addr {
	var out []netip.Addr
	for _, s := range list {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

// endpointIPAM is --ip and --ip6 as an endpoint's IPAM config.
func endpointIPAM(ip, ip6 string) (*network.EndpointIPAMConfig, error) {
	var cfg network.EndpointIPAMConfig
	if ip != "" {
		a, err := netip.ParseAddr(ip)
		if err != nil || !a.Is4() {
			return nil, fmt.Errorf("invalid argument %q for \"--ip\" flag: invalid IPv4 address", ip)
		}
		cfg.IPv4Address = a
	}
	if ip6 != "" {
		a, err := netip.ParseAddr(ip6)
		if err != nil || !a.Is6() || a.Is4In6() {
			return nil, fmt.Errorf("invalid argument %q for \"--ip6\" flag: invalid IPv6 address", ip6)
		}
		cfg.IPv6Address = a
	}
	return &cfg, nil
}
