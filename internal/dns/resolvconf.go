package dns

import (
	"bufio"
	"bytes"
	"net/netip"
	"os"
	"strings"
)

const (
	hostResolvConf    = "/etc/resolv.conf"
	systemdResolvConf = "/run/systemd/resolve/resolv.conf"
)

// HostUpstreams reads the host's /etc/resolv.conf nameservers; when the host
// only lists a systemd-resolved stub (127.0.0.53), it uses
// /run/systemd/resolve/resolv.conf's real servers if present (else keeps
// 127.0.0.53: pierd runs on the host and can reach it).
func HostUpstreams() []netip.AddrPort {
	// Missing files read as empty: upstreamsFrom then falls back as the C
	// library would.
	host, _ := os.ReadFile(hostResolvConf)
	systemd, _ := os.ReadFile(systemdResolvConf)
	return upstreamsFrom(host, systemd)
}

// upstreamsFrom is HostUpstreams on the files' contents.
func upstreamsFrom(resolvConf, systemdResolvConf []byte) []netip.AddrPort {
	servers := nameservers(resolvConf)
	if len(servers) == 0 {
		// With no nameserver line the C library asks the local host.
		return []netip.AddrPort{netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), 53)}
	}
	for _, s := range servers {
		if !isStub(s.Addr()) {
			return servers
		}
	}
	if real := nameservers(systemdResolvConf); len(real) > 0 {
		return real
	}
	return servers
}

// isStub reports whether a is one of systemd-resolved's local listeners: the
// stub (127.0.0.53) or the proxy stub (127.0.0.54).
func isStub(a netip.Addr) bool {
	return a == netip.AddrFrom4([4]byte{127, 0, 0, 53}) || a == netip.AddrFrom4([4]byte{127, 0, 0, 54})
}

// nameservers parses the nameserver lines of a resolv.conf, in order, without
// duplicates; lines that do not parse are skipped, as the C library does.
func nameservers(conf []byte) []netip.AddrPort {
	var out []netip.AddrPort
	seen := map[netip.AddrPort]bool{}
	sc := bufio.NewScanner(bytes.NewReader(conf))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || f[0] != "nameserver" {
			continue
		}
		a, err := netip.ParseAddr(f[1])
		if err != nil {
			continue
		}
		ap := netip.AddrPortFrom(a.Unmap(), 53)
		if !seen[ap] {
			seen[ap] = true
			out = append(out, ap)
		}
	}
	return out
}
