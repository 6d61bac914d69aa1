package e2e_test

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/net/dns/dnsmessage"

	"github.com/pier-engine/pier/internal/testutil"
)

// loopbackWhoAmI serves, on the host's 127.0.0.1, the client address of
// each connection: a host service that trusts loopback.
func loopbackWhoAmI(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	testutil.ServeWhoAmI(t, ln, "seen ")
	return ln.Addr().String()
}

// lanGet sends an HTTP/1.0 GET from the LAN host and returns the reply's
// last line (the body), or an error when nothing answers.
func lanGet(lan *testutil.LAN, addr string) (string, error) {
	var body string
	err := lan.Do(func() error {
		c, err := net.DialTimeout("tcp4", addr, time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := io.WriteString(c, "GET / HTTP/1.0\r\n\r\n"); err != nil {
			return err
		}
		b, err := io.ReadAll(c)
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		body = lines[len(lines)-1]
		return err
	})
	return body, err
}

// lanResolves asks the resolver at addr for name, over proto, from the LAN
// host, and says whether any answer came.
func lanResolves(t *testing.T, lan *testutil.LAN, proto, addr, name string) bool {
	t.Helper()
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: 99, RecursionDesired: true})
	_ = b.StartQuestions()
	_ = b.Question(dnsmessage.Question{Name: dnsmessage.MustNewName(name + "."), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET})
	msg, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	got := false
	_ = lan.Do(func() error {
		c, err := net.DialTimeout(proto, addr, time.Second)
		if err != nil {
			return nil
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(time.Second))
		out := msg
		if proto == "tcp" {
			out = append(binary.BigEndian.AppendUint16(nil, uint16(len(msg))), msg...)
		}
		if _, err := c.Write(out); err != nil {
			return nil
		}
		n, err := c.Read(make([]byte, 1024))
		got = err == nil && n > 0
		return nil
	})
	return got
}

// TestNetworkLANHost: a host on the LAN (a namespace on a veth, routing
// the host's loopback and the network's subnet through the host, as any
// machine on the link can) must reach neither a port published on
// 127.0.0.1 (moby#41872), nor a host service on 127.0.0.1, nor a
// container port that is not published, nor the network's resolver. A
// container sending to 127.0.0.1 through its gateway (CVE-2020-8558)
// reaches nothing either. What must keep working does.
func TestNetworkLANHost(t *testing.T) {
	testutil.RequiresRoot(t)
	testutil.Requires(t, "busybox", "overlay")
	testutil.CheckLeaks(t)
	d := startPierd(t, shortDir(t))
	dk := dockerOn(t, d)
	dk("network", "create", "lanexp")
	port := freeTCPPort(t)
	dk("run", "-d", "--name", "lanweb", "--network", "lanexp", "-p", "127.0.0.1:"+port+":80", "busybox", "sh", "-c", httpdScript("hi-lan"))
	t.Cleanup(func() { run(t, dockers[0], "--host", d.host, "rm", "-f", "lanweb") })
	if got := getRetry(t, "http://127.0.0.1:"+port+"/"); strings.TrimSpace(got) != "hi-lan" {
		t.Fatalf("the host's own GET of its 127.0.0.1 port = %q", got)
	}
	ip := dk("inspect", "-f", "{{.NetworkSettings.Networks.lanexp.IPAddress}}", "lanweb")
	gw := dk("network", "inspect", "-f", "{{range .IPAM.Config}}{{.Gateway}}{{end}}", "lanexp")
	subnet := netip.MustParsePrefix(dk("network", "inspect", "-f", "{{range .IPAM.Config}}{{.Subnet}}{{end}}", "lanexp"))
	target := loopbackWhoAmI(t)

	lan := testutil.NewLAN(t)
	lan.Route(t, subnet)
	lan.Route(t, netip.MustParsePrefix("127.0.0.0/8"))

	// First what must work, so that what must not is not merely a LAN host
	// not ready yet: a port published on every address is the LAN's.
	anyPort := freeTCPPort(t)
	dk("run", "-d", "--name", "lanpub", "--network", "lanexp", "-p", anyPort+":80", "busybox", "sh", "-c", httpdScript("hi-pub"))
	t.Cleanup(func() { run(t, dockers[0], "--host", d.host, "rm", "-f", "lanpub") })
	var got string
	var err error
	for range 30 {
		if got, err = lanGet(lan, net.JoinHostPort(lan.Host.String(), anyPort)); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil || got != "hi-pub" {
		t.Fatalf("LAN host to a port published on every address: %q, %v", got, err)
	}

	for _, c := range []struct{ addr, what string }{
		{"127.0.0.1:" + port, "the port published on 127.0.0.1"},
		{target, "the host's 127.0.0.1 service"},
		{net.JoinHostPort(ip, "80"), "an unpublished container port"},
	} {
		for range 2 { // a lost first packet must not pass for a block
			if got, err := lanGet(lan, c.addr); err == nil {
				t.Errorf("LAN host reached %s (%s): %q", c.what, c.addr, got)
				break
			}
		}
	}
	for _, proto := range []string{"udp", "tcp"} {
		if lanResolves(t, lan, proto, net.JoinHostPort(gw, "53"), "lanweb") {
			t.Errorf("LAN host got an answer from the network's resolver %s over %s", gw, proto)
		}
	}

	// The container, with no loopback of its own and 127.0.0.0/8 routed to
	// its gateway (CAP_NET_ADMIN stands in for CAP_NET_RAW's crafted
	// frames), connects to the host's 127.0.0.1 service.
	_, tport, _ := net.SplitHostPort(target)
	code, out, errs := run(t, dockers[0], "--host", d.host, "run", "--rm", "--network", "lanexp", "--cap-add", "NET_ADMIN",
		"--sysctl", "net.ipv4.conf.all.route_localnet=1", "busybox", "sh", "-c",
		"ip addr del 127.0.0.1/8 dev lo && ip route add 127.0.0.0/8 via "+gw+" && nc -w 2 127.0.0.1 "+tport)
	if strings.Contains(out, "seen") {
		t.Errorf("a container reached the host's 127.0.0.1 through its gateway: %q (exit %d, %q)", out, code, errs)
	}

	// Still working: a container on the network resolves its neighbour by
	// name through the resolver and reaches it.
	out = dk("run", "--rm", "--network", "lanexp", "busybox", "sh", "-c",
		"for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://lanweb/ && exit 0; sleep 0.2; done; exit 1")
	if out != "hi-lan" {
		t.Errorf("neighbour by name = %q", out)
	}
}

func freeTCPPort(t *testing.T) string { return strconv.Itoa(int(testutil.FreeLoopbackPort(t))) }

// TestNetworkPublishRefused: -p 8.8.8.8:53:53 is refused with an error
// naming the address, and a host port a host process listens on is a
// conflict; neither container runs.
func TestNetworkPublishRefused(t *testing.T) {
	testutil.RequiresRoot(t)
	testutil.Requires(t, "busybox", "overlay")
	testutil.CheckLeaks(t)
	d := startPierd(t, shortDir(t))
	code, _, errs := run(t, dockers[0], "--host", d.host, "run", "-d", "--name", "foreign", "-p", "8.8.8.8:53:53/udp", "busybox", "sleep", "100")
	t.Cleanup(func() { run(t, dockers[0], "--host", d.host, "rm", "-f", "foreign") })
	if code == 0 || !strings.Contains(errs, "8.8.8.8") || !strings.Contains(errs, "not a local address") {
		t.Errorf("run -p 8.8.8.8:53:53/udp: exit %d, %q; want a refusal naming the address", code, errs)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	code, _, errs = run(t, dockers[0], "--host", d.host, "run", "-d", "--name", "inuse", "-p", port+":80", "busybox", "sleep", "100")
	t.Cleanup(func() { run(t, dockers[0], "--host", d.host, "rm", "-f", "inuse") })
	if code == 0 || !strings.Contains(errs, "in use") {
		t.Errorf("run -p %s:80 with %s taken on the host: exit %d, %q; want a conflict", port, port, code, errs)
	}
	dk := dockerOn(t, d)
	for _, name := range []string{"foreign", "inuse"} {
		if st := dk("inspect", "-f", "{{.State.Running}}", name); st != "false" {
			t.Errorf("%s running: %s", name, st)
		}
	}
}

// TestNetworkForeignBridge: a network named after a bridge pier did not
// create (com.docker.network.bridge.name) never takes it over, and
// network rm leaves it.
func TestNetworkForeignBridge(t *testing.T) {
	testutil.RequiresRoot(t)
	testutil.Requires(t, "busybox", "overlay")
	testutil.CheckLeaks(t)
	name := fmt.Sprintf("ptfbr%d", os.Getpid()%100000)
	testutil.ForeignBridge(t, name)
	d := startPierd(t, shortDir(t))
	code, _, errs := run(t, dockers[0], "--host", d.host, "network", "create", "-o", "com.docker.network.bridge.name="+name, "adopt")
	if code == 0 {
		// Refused at create or, at the latest, when a container needs it.
		code, _, errs = run(t, dockers[0], "--host", d.host, "run", "--rm", "--network", "adopt", "busybox", "true")
		run(t, dockers[0], "--host", d.host, "network", "rm", "adopt")
	}
	if code == 0 || !strings.Contains(errs, "not created by pier") {
		t.Errorf("a network over the foreign bridge %s: exit %d, %q; want a refusal", name, code, errs)
	}
	l, err := netlink.LinkByName(name)
	if err != nil {
		t.Fatalf("foreign bridge %s gone: %v", name, err)
	}
	if addrs, _ := netlink.AddrList(l, netlink.FAMILY_V4); len(addrs) != 0 {
		t.Errorf("foreign bridge %s got addresses %v", name, addrs)
	}
}
