package network

import (
	"bufio"
	"bytes"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/pier-engine/pier/internal/errdefs"
)

// Endpoint driver options for a container's bandwidth, in the
// container's directions: what it sends (egress) and what it receives
// (ingress). `docker run --network name=bridge,driver-opt=pier.bandwidth.egress=10mbit`.
const (
	optEgress  = "pier.bandwidth.egress"
	optIngress = "pier.bandwidth.ingress"
)

// rateUnits are tc's: bit multiples, and byte multiples ("bps") ×8.
var rateUnits = []struct {
	suffix string
	mult   float64
}{
	{"tbit", 1e12}, {"gbit", 1e9}, {"mbit", 1e6}, {"kbit", 1e3},
	{"tbps", 8e12}, {"gbps", 8e9}, {"mbps", 8e6}, {"kbps", 8e3},
	{"bps", 8}, {"bit", 1},
}

// parseRate reads a rate as tc writes it ("10mbit", "512kbit", "1gbit",
// "1.5mbps") or a plain number of bit/s; 0 means no limit.
func parseRate(s string) (uint64, error) {
	v := strings.ToLower(strings.TrimSpace(s))
	mult := 1.0
	for _, u := range rateUnits {
		if num, ok := strings.CutSuffix(v, u.suffix); ok {
			v, mult = num, u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || f*mult > 1e15 {
		return 0, fmt.Errorf("rate %q: want a number of bit/s or one with a unit such as 10mbit, 512kbit, 1gbit", s)
	}
	return uint64(f * mult), nil
}

// endpointRates reads the bandwidth driver options; a bad value is the
// user's error, naming the option.
func endpointRates(opts map[string]string) (egress, ingress uint64, err error) {
	for key, dst := range map[string]*uint64{optEgress: &egress, optIngress: &ingress} {
		v, ok := opts[key]
		if !ok {
			continue
		}
		if *dst, err = parseRate(v); err != nil {
			return 0, 0, fmt.Errorf("invalid driver option %s: %w: %w", key, err, errdefs.ErrInvalidArgument)
		}
	}
	return egress, ingress, nil
}

// hostsFile is a container's /etc/hosts: localhost, its own addresses
// under its hostname, and --add-host entries ("name:ip", where
// "host-gateway" is the gateway).
func hostsFile(hostname string, ips []netip.Addr, extra []string, gateway netip.Addr) []byte {
	var b bytes.Buffer
	b.WriteString("127.0.0.1\tlocalhost\n")
	b.WriteString("::1\tlocalhost ip6-localhost ip6-loopback\n")
	b.WriteString("fe00::\tip6-localnet\nff00::\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n")
	for _, e := range extra {
		name, ip, ok := strings.Cut(e, ":")
		if !ok {
			continue
		}
		if ip == "host-gateway" && gateway.IsValid() {
			ip = gateway.String()
		}
		fmt.Fprintf(&b, "%s\t%s\n", ip, name)
	}
	for _, ip := range ips {
		fmt.Fprintf(&b, "%s\t%s\n", ip, hostname)
	}
	return b.Bytes()
}

// resolvConf is a container's /etc/resolv.conf from the host's: the
// user's --dns, --dns-search and --dns-option replace the host's lines;
// nameserver, when valid, is the only server (pier's resolver); else the
// host's servers are kept except loopback ones, which the container
// could not reach.
func resolvConf(host []byte, nameserver netip.Addr, dns []netip.Addr, search, options []string) []byte {
	var servers, searches, opts []string
	sc := bufio.NewScanner(bytes.NewReader(host))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "nameserver":
			if a, err := netip.ParseAddr(f[1]); err == nil && !a.IsLoopback() {
				servers = append(servers, f[1])
			}
		case "search", "domain":
			searches = f[1:]
		case "options":
			opts = append(opts, f[1:]...)
		}
	}
	switch {
	case len(dns) > 0:
		servers = servers[:0]
		for _, a := range dns {
			servers = append(servers, a.String())
		}
	case nameserver.IsValid():
		servers = []string{nameserver.String()}
	}
	if len(search) > 0 {
		searches = search
	}
	if len(options) > 0 {
		opts = options
	}
	var b bytes.Buffer
	for _, s := range servers {
		fmt.Fprintf(&b, "nameserver %s\n", s)
	}
	if len(searches) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(searches, " "))
	}
	if len(opts) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(opts, " "))
	}
	return b.Bytes()
}
