package dns

import (
	"net/netip"
	"slices"
	"testing"
)

func TestUpstreamsFrom(t *testing.T) {
	ap := netip.MustParseAddrPort
	for _, tc := range []struct {
		name          string
		host, systemd string
		want          []netip.AddrPort
	}{
		{"plain", "search corp\nnameserver 10.0.0.1\nnameserver 10.0.0.2\n", "", []netip.AddrPort{ap("10.0.0.1:53"), ap("10.0.0.2:53")}},
		{"ipv6 and junk", "#nameserver 1.1.1.1\nnameserver bogus\nnameserver 2001:db8::1\nnameserver 10.0.0.1\nnameserver 10.0.0.1\noptions ndots:2\n", "", []netip.AddrPort{ap("[2001:db8::1]:53"), ap("10.0.0.1:53")}},
		{"stub with real servers", "nameserver 127.0.0.53\noptions edns0\n", "nameserver 192.168.1.1\nnameserver 192.168.1.2\n", []netip.AddrPort{ap("192.168.1.1:53"), ap("192.168.1.2:53")}},
		{"stub without real servers", "nameserver 127.0.0.53\n", "", []netip.AddrPort{ap("127.0.0.53:53")}},
		{"stub among others", "nameserver 127.0.0.53\nnameserver 10.0.0.1\n", "nameserver 192.168.1.1\n", []netip.AddrPort{ap("127.0.0.53:53"), ap("10.0.0.1:53")}},
		{"empty", "", "nameserver 192.168.1.1\n", []netip.AddrPort{ap("127.0.0.1:53")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := upstreamsFrom([]byte(tc.host), []byte(tc.systemd)); !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestHostUpstreams(t *testing.T) {
	if got := HostUpstreams(); len(got) == 0 {
		t.Fatal("no upstreams: at least the C library's default is expected")
	}
}
