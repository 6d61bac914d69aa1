package e2e_test

import (
	"strings"
	"testing"
)

// TestNetworkCustomGateway: a network created with a gateway other than the
// subnet's first address (docker network create --gateway) gives its bridge
// that address, routes its containers through it, and hands the first
// address to a container, as dockerd does.
func TestNetworkCustomGateway(t *testing.T) {
	d := newPierd(t, "busybox")
	dk := dockerOn(t, d)
	dk("network", "create", "--subnet", "10.236.9.0/24", "--gateway", "10.236.9.254", "gwnet")
	if gw := (dk("network", "inspect", "-f", "{{(index .IPAM.Config 0).Gateway}}", "gwnet")); gw != "10.236.9.254" {
		t.Errorf("inspect gateway = %q", gw)
	}
	out := dk("run", "--rm", "--network", "gwnet", "busybox", "sh", "-c", "ip -4 route; ip -4 -o addr show eth0; ping -c1 -W2 10.236.9.254 >/dev/null && echo pong")
	if !strings.Contains(out, "default via 10.236.9.254") || !strings.Contains(out, "inet 10.236.9.1/24") || !strings.Contains(out, "pong") {
		t.Errorf("in the container:\n%s\nwant the default route via 10.236.9.254, address 10.236.9.1, and the gateway answering", out)
	}
	if code, _, errs := run(t, dockers[0], "-H", d.host, "network", "create", "--subnet", "10.236.10.0/24", "--gateway", "10.236.11.1", "badgw"); code == 0 || !strings.Contains(errs, "10.236.11.1") {
		t.Errorf("gateway outside the subnet = %d %s", code, errs)
	}
	dk("network", "rm", "gwnet")
}
