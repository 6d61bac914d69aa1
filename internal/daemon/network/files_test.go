package network

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
	apinet "github.com/moby/moby/api/types/network"

	"github.com/pier-engine/pier/internal/errdefs"
)

func TestParseRate(t *testing.T) {
	for in, want := range map[string]uint64{
		"10mbit": 10e6, "512kbit": 512e3, "1gbit": 1e9, "1GBIT": 1e9, "2500": 2500,
		"1.5mbit": 1.5e6, "1mbps": 8e6, "0": 0, "100bit": 100,
	} {
		if got, err := parseRate(in); err != nil || got != want {
			t.Errorf("parseRate(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "fast", "-1mbit", "10 mbit/s", "mbit"} {
		if _, err := parseRate(in); err == nil {
			t.Errorf("parseRate(%q) accepted", in)
		}
	}
	_, _, err := endpointRates(map[string]string{optEgress: "lots"})
	if !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), optEgress) {
		t.Errorf("bad egress option: %v", err)
	}
	e, i, err := endpointRates(map[string]string{optEgress: "10mbit", optIngress: "1kbit", "other": "x"})
	if err != nil || e != 10e6 || i != 1e3 {
		t.Errorf("rates = %d %d %v", e, i, err)
	}
}

func TestHostsFile(t *testing.T) {
	gw := netip.MustParseAddr("172.30.0.1")
	got := string(hostsFile("web", []netip.Addr{netip.MustParseAddr("172.30.0.2")}, []string{"db:10.0.0.9", "gw:host-gateway", "bad"}, gw))
	for _, line := range []string{"127.0.0.1\tlocalhost\n", "172.30.0.2\tweb\n", "10.0.0.9\tdb\n", "172.30.0.1\tgw\n"} {
		if !strings.Contains(got, line) {
			t.Errorf("hosts lacks %q:\n%s", line, got)
		}
	}
	if strings.Contains(got, "bad") {
		t.Errorf("hosts has a malformed entry:\n%s", got)
	}
}

func TestResolvConf(t *testing.T) {
	host := []byte("# systemd\nnameserver 127.0.0.53\nnameserver 192.0.2.53\nsearch example.org\noptions edns0\n")
	if got := string(resolvConf(host, netip.Addr{}, nil, nil, nil)); got != "nameserver 192.0.2.53\nsearch example.org\noptions edns0\n" {
		t.Errorf("host copy = %q", got)
	}
	gw := netip.MustParseAddr("172.30.0.1")
	if got := string(resolvConf(host, gw, nil, nil, nil)); !strings.HasPrefix(got, "nameserver 172.30.0.1\nsearch") {
		t.Errorf("with pier's resolver = %q", got)
	}
	dns := []netip.Addr{netip.MustParseAddr("9.9.9.9")}
	if got := string(resolvConf(host, gw, dns, []string{"a.b"}, []string{"ndots:2"})); got != "nameserver 9.9.9.9\nsearch a.b\noptions ndots:2\n" {
		t.Errorf("with --dns = %q", got)
	}
}

func TestPortPlan(t *testing.T) {
	ip := netip.MustParseAddr("172.30.0.2")
	host := &container.HostConfig{PortBindings: apinet.PortMap{
		apinet.MustParsePort("80/tcp"):  {{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: "18080"}},
		apinet.MustParsePort("53/udp"):  {{HostPort: ""}},
		apinet.MustParsePort("443/tcp"): {{HostIP: netip.MustParseAddr("::"), HostPort: "443"}},
	}, PublishAllPorts: true}
	exposed := []apinet.Port{apinet.MustParsePort("80/tcp"), apinet.MustParsePort("8080/tcp")}
	ports, err := portPlan(host, exposed, ip, netip.Addr{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]uint16{}
	for _, p := range ports {
		if p.ContainerIP != ip || p.HostPort == 0 {
			t.Errorf("port %+v", p)
		}
		got[fmt.Sprintf("%s %s %d", p.Proto, p.HostIP, p.ContainerPort)] = p.HostPort
	}
	if len(ports) != 3 || got["tcp 127.0.0.1 80"] != 18080 || got["udp invalid IP 53"] == 0 || got["tcp invalid IP 8080"] == 0 {
		t.Errorf("plan = %v", got)
	}
	bad := &container.HostConfig{PortBindings: apinet.PortMap{apinet.MustParsePort("80/tcp"): {{HostPort: "x"}}}}
	if _, err := portPlan(bad, nil, ip, netip.Addr{}); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("bad host port: %v", err)
	}
}

func TestNewEndpoint(t *testing.T) {
	def := netRecord{ID: "d", Name: "bridge", Subnet: netip.MustParsePrefix("172.30.0.0/16")}
	user := netRecord{ID: "u", Name: "mynet", Subnet: netip.MustParsePrefix("10.99.0.0/24")}
	ip := func(s string) *apinet.EndpointSettings {
		return &apinet.EndpointSettings{IPAMConfig: &apinet.EndpointIPAMConfig{IPv4Address: netip.MustParseAddr(s)}}
	}
	for _, c := range []struct {
		n  netRecord
		es *apinet.EndpointSettings
		ok bool
	}{
		{def, nil, true},
		{def, &apinet.EndpointSettings{Aliases: []string{"a"}}, false},
		{user, &apinet.EndpointSettings{Aliases: []string{"a"}}, true},
		{def, ip("172.30.0.9"), false},
		{user, ip("10.99.0.9"), true},
		{user, ip("10.99.1.9"), false},
		{user, ip("10.99.0.1"), false}, // the gateway
		{user, &apinet.EndpointSettings{DriverOpts: map[string]string{optIngress: "x"}}, false},
	} {
		ep, err := newEndpoint(c.n, c.es, 0)
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, errdefs.ErrInvalidArgument)) {
			t.Errorf("newEndpoint(%s, %+v) = %+v, %v", c.n.Name, c.es, ep, err)
		}
	}
}
