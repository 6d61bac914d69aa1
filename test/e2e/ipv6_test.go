package e2e_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestNetworkIPv6: docker network create --ipv6 --subnet makes a
// dual-stack network: each container gets an address of the IPv6 subnet
// (the next free one, or --ip6), a default route through the gateway, an
// AAAA name, and reaches the others over IPv6; inspect shows it as dockerd
// does. An IPv6 subnet without --ipv6 (docker CLI 20.10 sends EnableIPv6
// false) is refused. Only a ULA prefix is used, and traffic stays inside
// the test's containers.
func TestNetworkIPv6(t *testing.T) {
	d := newPierd(t, "busybox")
	dk := dockerOn(t, d)
	prefix := fmt.Sprintf("fd42:%x:%x:6", os.Getpid()&0xffff, (os.Getpid()>>16)&0xffff)
	subnet, gw, fixed := prefix+"::/64", prefix+"::1", prefix+"::f00d"
	dk("network", "create", "--ipv6", "--subnet", subnet, "six")
	t.Cleanup(func() { run(t, dockers[0], "-H", d.host, "network", "rm", "six") })
	if got := dk("network", "inspect", "-f", "{{.EnableIPv6}} {{range .IPAM.Config}}{{.Subnet}}/{{.Gateway}} {{end}}", "six"); !strings.HasPrefix(got, "true ") || !strings.Contains(got, subnet+"/"+gw) {
		t.Errorf("network inspect = %q, want IPv6 enabled with %s via %s", got, subnet, gw)
	}
	dk("run", "-d", "--name", "s1", "--network", "six", "busybox", "sleep", "60")
	t.Cleanup(func() { run(t, dockers[0], "-H", d.host, "rm", "-f", "s1") })
	ip6 := dk("inspect", "-f", "{{.NetworkSettings.Networks.six.GlobalIPv6Address}}", "s1")
	if got := dk("inspect", "-f", "{{with .NetworkSettings.Networks.six}}{{.GlobalIPv6PrefixLen}} {{.IPv6Gateway}}{{end}}", "s1"); got != "64 "+gw || !strings.HasPrefix(ip6, prefix+"::") {
		t.Errorf("inspect s1: address %q, prefix and gateway %q; want %s::x, 64 %s", ip6, got, prefix, gw)
	}
	out := dk("run", "--rm", "--network", "six", "--ip6", fixed, "busybox", "sh", "-c",
		"ip -6 -o addr show eth0 scope global; ip -6 route show default; ping -6 -c1 -W2 "+ip6+" >/dev/null && echo pong-addr; ping -6 -c1 -W2 s1 >/dev/null && echo pong-name")
	for _, want := range []string{"inet6 " + fixed + "/64", "default via " + gw, "pong-addr", "pong-name"} {
		if !strings.Contains(out, want) {
			t.Errorf("in a container with --ip6 %s:\n%s\nwant %q", fixed, out, want)
		}
	}
	if got := dk("network", "inspect", "-f", "{{range .Containers}}{{.IPv6Address}}{{end}}", "six"); got != ip6+"/64" {
		t.Errorf("network inspect containers = %q, want %s/64", got, ip6)
	}
	// A port on every address leads from the host's IPv6 addresses too
	// (here the bridge's own, the gateway): DNAT in pier's ip6 table.
	dk("run", "-d", "--name", "web6", "--network", "six", "-p", "18086:80", "busybox", "sh", "-c", httpdScript("hi-six"))
	t.Cleanup(func() { run(t, dockers[0], "-H", d.host, "rm", "-f", "web6") })
	if got := dk("port", "web6", "80/tcp"); !strings.Contains(got, "0.0.0.0:18086") || !strings.Contains(got, "[::]:18086") {
		t.Errorf("docker port = %q, want 0.0.0.0:18086 and [::]:18086", got)
	}
	if got := getRetry(t, "http://["+gw+"]:18086/"); strings.TrimSpace(got) != "hi-six" {
		t.Errorf("GET [%s]:18086 = %q", gw, got)
	}
	dk("rm", "-f", "web6")
	// The address is free again once its container is gone.
	dk("run", "--rm", "--network", "six", "--ip6", fixed, "busybox", "true")
	if code, _, errs := run(t, dockers[0], "-H", d.host, "run", "--rm", "--network", "six", "--ip6", prefix+"::1", "busybox", "true"); code == 0 || !strings.Contains(errs, "no configured subnet") {
		t.Errorf("--ip6 of the gateway = %d %q", code, errs)
	}
	if len(dockers) > 1 {
		if _, err := os.Stat(dockers[1]); err == nil {
			code, _, errs := run(t, dockers[1], "-H", d.host, "network", "create", "--subnet", "fd42:1:2:3::/64", "nov6")
			if code == 0 || !strings.Contains(errs, "EnableIPv6 is false") {
				t.Errorf("docker 20.10 network create with an IPv6 subnet and no --ipv6 = %d %q", code, errs)
			}
		}
	}
}
