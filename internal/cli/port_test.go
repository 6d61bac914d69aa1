package cli

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/network"
)

func TestWritePorts(t *testing.T) {
	ports := network.PortMap{
		network.MustParsePort("5353/udp"): {{HostPort: "15353"}},
		network.MustParsePort("80/tcp"):   {{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: "8080"}, {HostIP: netip.MustParseAddr("::1"), HostPort: "8080"}},
		network.MustParsePort("443/tcp"):  nil, // exposed, not published
	}
	var b bytes.Buffer
	if err := writePorts(&b, "web", ports, nil); err != nil {
		t.Fatal(err)
	}
	want := "80/tcp -> 127.0.0.1:8080\n80/tcp -> [::1]:8080\n5353/udp -> 0.0.0.0:15353\n"
	if b.String() != want {
		t.Errorf("all ports:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	p := network.MustParsePort("5353/udp")
	if err := writePorts(&b, "web", ports, &p); err != nil || b.String() != "0.0.0.0:15353\n" {
		t.Errorf("5353/udp = %q, %v", b.String(), err)
	}
	p = network.MustParsePort("443/tcp")
	if err := writePorts(&b, "web", ports, &p); err == nil || !strings.Contains(err.Error(), "no public port '443/tcp'") {
		t.Errorf("unpublished port: %v", err)
	}
}
