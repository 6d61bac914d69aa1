package e2e_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/nftables"
	"github.com/google/nftables/userdata"

	"github.com/pier-engine/pier/internal/network"
)

// netProbe is a Dockerfile whose RUN steps record what they can reach:
// the test's server on the host's 127.0.0.1 (directly and through the
// default route's gateway) and the interfaces they see.
const netProbe = `FROM busybox
ARG PORT
ARG NONCE
RUN echo $NONCE; cat /proc/net/dev > /dev-default; \
    (nc -w 3 127.0.0.1 $PORT </dev/null 2>&1; echo rc=$?) > /lo-default; \
    gw=$(ip route | awk '/^default/ {print $3}'); echo "$gw" > /gw; \
    (nc -w 3 $gw $PORT </dev/null 2>&1; echo rc=$?) > /gw-default
RUN --network=none echo $NONCE; cat /proc/net/dev > /dev-none
FROM scratch
COPY --from=0 /dev-default /lo-default /gw /gw-default /dev-none /
`

const netHostProbe = `FROM busybox
ARG PORT
ARG NONCE
RUN --network=host echo $NONCE; (nc -w 3 127.0.0.1 $PORT </dev/null 2>&1; echo rc=$?) > /lo-host
FROM scratch
COPY --from=0 /lo-host /
`

// TestBuildKitNetwork: a RUN step has a network namespace of its own on
// pierd's build bridge: it cannot reach a server the test binds on the
// host's 127.0.0.1 (not through its own loopback, not through its
// gateway); --network=none leaves only lo; --network=host is refused
// without the network.host entitlement and, granted, reaches the server
// (so the probe can tell). The bridge, its namespaces and veths go with
// pierd (the leak check).
func TestBuildKitNetwork(t *testing.T) {
	r := newBuildRig(t)
	const answer = "host-loopback-secret"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			fmt.Fprint(c, answer)
			c.Close()
		}
	}()
	port := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)

	ctx := writeContext(t, map[string]string{"Dockerfile": netProbe})
	dest := t.TempDir()
	r.mustBuildx("buildx", "build", "--progress=plain", "--build-arg", "PORT="+port,
		"--build-arg", "NONCE="+dest, "--output", "type=local,dest="+dest, ctx)
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dest, name))
		if err != nil {
			t.Fatalf("probe output %s: %v", name, err)
		}
		return string(b)
	}
	// nc exits 1 on a refused connection; a crash (139) would prove nothing.
	if got := read("lo-default"); strings.Contains(got, answer) || !strings.Contains(got, "rc=1") {
		t.Errorf("a RUN reached the host's 127.0.0.1:%s: %q", port, got)
	}
	if got := read("gw-default"); strings.Contains(got, answer) || !strings.Contains(got, "rc=1") {
		t.Errorf("a RUN reached the host's 127.0.0.1 service through its gateway %s: %q", read("gw"), got)
	}
	if ifs := interfaces(read("dev-default")); strings.Join(ifs, ",") != "eth0,lo" && strings.Join(ifs, ",") != "lo,eth0" {
		t.Errorf("default RUN interfaces = %v, want lo and eth0 (its own namespace)", ifs)
	}
	if gw := strings.TrimSpace(read("gw")); net.ParseIP(gw) == nil {
		t.Errorf("default RUN has no default route (gateway %q)", gw)
	}
	if ifs := interfaces(read("dev-none")); strings.Join(ifs, ",") != "lo" {
		t.Errorf("--network=none RUN interfaces = %v, want only lo", ifs)
	}

	host := writeContext(t, map[string]string{"Dockerfile": netHostProbe})
	code, out := r.buildx("buildx", "build", "--progress=plain", "--build-arg", "PORT="+port, "--output", "type=local,dest="+t.TempDir(), host)
	if code == 0 || !strings.Contains(out, "network.host is not allowed") {
		t.Errorf("RUN --network=host without the entitlement = %d, want refused:\n%s", code, out)
	}
	hostDest := t.TempDir()
	r.mustBuildx("buildx", "build", "--progress=plain", "--allow", "network.host", "--build-arg", "PORT="+port,
		"--build-arg", "NONCE="+hostDest, "--output", "type=local,dest="+hostDest, host)
	if b, _ := os.ReadFile(filepath.Join(hostDest, "lo-host")); string(b) != answer+"rc=0\n" {
		t.Errorf("RUN --network=host with network.host allowed got %q from the host's 127.0.0.1, want %q", b, answer)
	}
	r.nothingLeft()
	if ents, _ := filepath.Glob(filepath.Join(r.d.root, "buildkit", "net", "*.ns")); len(ents) > 0 {
		t.Errorf("build network namespaces left: %v", ents)
	}

	// The bridge stays up a while after the last step; pierd's stop
	// takes it and its rules away.
	sum := sha256.Sum256([]byte(filepath.Join(r.d.root, "buildkit")))
	bridge := "pierbk-" + hex.EncodeToString(sum[:3])
	if _, err := os.Stat("/sys/class/net/" + bridge); err != nil {
		t.Fatalf("build bridge %s: %v", bridge, err)
	}
	if n := pierRulesNaming(t, bridge); n == 0 {
		t.Errorf("no rule of pier's table names %s while it is up", bridge)
	}
	r.d.stop(t)
	if _, err := os.Stat("/sys/class/net/" + bridge); err == nil {
		t.Errorf("build bridge %s left after pierd stopped", bridge)
	}
	if n := pierRulesNaming(t, bridge); n != 0 {
		t.Errorf("%d rules of pier's table still name %s after pierd stopped", n, bridge)
	}
}

// pierRulesNaming counts the rules of pier's nftables table (ip) whose
// tag names bridge.
func pierRulesNaming(t *testing.T, bridge string) int {
	t.Helper()
	c, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	tb, err := c.ListTableOfFamily(network.TableName, nftables.TableFamilyIPv4)
	if err != nil {
		return 0 // no table: no rule
	}
	chains, err := c.ListChainsOfTableFamily(tb.Family)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ch := range chains {
		if ch.Table.Name != tb.Name {
			continue
		}
		rules, err := c.GetRules(tb, ch)
		if err != nil {
			t.Fatal(err)
		}
		for _, rl := range rules {
			if tag, _ := userdata.GetString(rl.UserData, userdata.TypeComment); strings.Contains(tag, bridge) {
				n++
			}
		}
	}
	return n
}

// interfaces lists the interface names of a /proc/net/dev.
func interfaces(dev string) []string {
	var out []string
	for _, line := range strings.Split(dev, "\n") {
		name, _, ok := strings.Cut(line, ":")
		if ok && !strings.Contains(name, "|") {
			out = append(out, strings.TrimSpace(name))
		}
	}
	return out
}
