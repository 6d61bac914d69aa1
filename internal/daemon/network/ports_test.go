package network

import (
	"testing"

	"github.com/moby/moby/api/types/container"
	apinet "github.com/moby/moby/api/types/network"
)

func TestAskedFor(t *testing.T) {
	host := &container.HostConfig{PortBindings: apinet.PortMap{
		apinet.MustParsePort("80/tcp"):  {{HostPort: "8080"}, {HostPort: ""}},
		apinet.MustParsePort("53/udp"):  {{HostPort: "5300-5310"}},
		apinet.MustParsePort("443/tcp"): {{HostPort: "0"}},
	}}
	for n, want := range map[uint16]bool{8080: true, 5300: true, 0: false, 443: false, 36237: false} {
		if got := askedFor(host, n); got != want {
			t.Errorf("askedFor(%d) = %v, want %v", n, got, want)
		}
	}
}
