package e2e_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pier-engine/pier/internal/testutil"
)

// dockerOn runs the docker CLI against d and fails the test on a non-zero
// exit.
func dockerOn(t *testing.T, d *pierd) func(args ...string) string {
	return func(args ...string) string {
		t.Helper()
		code, out, errs := run(t, dockers[0], append([]string{"--host", d.host}, args...)...)
		if code != 0 {
			t.Fatalf("docker %s = %d %q %q", strings.Join(args, " "), code, out, errs)
		}
		return strings.TrimSpace(out)
	}
}

// httpdScript serves /www/index.html saying what, logging each client.
func httpdScript(what string) string {
	return "mkdir -p /www && echo " + what + " > /www/index.html && exec httpd -f -vv -p 80 -h /www"
}

// getRetry fetches url until it answers or 3 s pass: the server in a
// just-started container may not listen yet.
func getRetry(t *testing.T, url string) string {
	t.Helper()
	c := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(3 * time.Second)
	for {
		resp, err := c.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v", url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestNetworkUserDNS: containers on a user network reach each other by
// name and alias (ping, and wget to httpd); another network cannot reach
// them; a network in use cannot be removed; nothing is left afterwards.
func TestNetworkUserDNS(t *testing.T) {
	d := newPierd(t, "busybox", "overlay")
	dk := dockerOn(t, d)
	dk("network", "create", "front")
	dk("network", "create", "--subnet", "10.234.5.0/24", "back")
	dk("run", "-d", "--name", "web1", "--network", "front", "--network-alias", "www", "busybox", "sh", "-c", httpdScript("hi-web1"))
	t.Cleanup(func() { run(t, dockers[0], "--host", d.host, "rm", "-f", "web1") })
	out := dk("run", "--rm", "--network", "front", "busybox", "sh", "-c",
		"ping -c1 -W2 web1 >/dev/null && for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://www/ && exit 0; sleep 0.2; done; exit 1")
	if out != "hi-web1" {
		t.Errorf("wget by alias = %q", out)
	}
	ip := dk("inspect", "-f", "{{.NetworkSettings.Networks.front.IPAddress}}", "web1")
	code, _, _ := run(t, dockers[0], "--host", d.host, "run", "--rm", "--network", "back", "busybox", "ping", "-c1", "-W1", ip)
	if code == 0 {
		t.Errorf("a container on network back pinged %s on network front", ip)
	}
	if got := dk("run", "--rm", "--network", "back", "busybox", "sh", "-c", "ip -4 -o addr show eth0 | awk '{print $4}'"); !strings.HasPrefix(got, "10.234.5.") {
		t.Errorf("address on back = %q", got)
	}
	if code, _, errs := run(t, dockers[0], "--host", d.host, "network", "rm", "front"); code == 0 || !strings.Contains(errs, "has active endpoints") {
		t.Errorf("network rm in use = %d %q", code, errs)
	}
	dk("rm", "-f", "web1")
	dk("network", "rm", "front", "back")
	if out := dk("network", "ls", "--format", "{{.Name}}"); out != "bridge\nhost\nnone" {
		t.Errorf("network ls = %q", out)
	}
}

// TestNetworkPublish: -p 127.0.0.1:18080:80 reaches httpd from the host,
// which sees the gateway as the client (the host's loopback is
// masqueraded to it); a port published on the gateway address sees the
// host's own bridge address; -P picks a free port for --expose.
func TestNetworkPublish(t *testing.T) {
	d := newPierd(t, "busybox", "overlay")
	dk := dockerOn(t, d)
	gw := dk("network", "inspect", "-f", "{{range .IPAM.Config}}{{.Gateway}}{{end}}", "bridge")
	dk("run", "-d", "--name", "pub", "-p", "127.0.0.1:18080:80", "-p", gw+":18081:80", "busybox", "sh", "-c", httpdScript("hi-pub"))
	t.Cleanup(func() { run(t, dockers[0], "--host", d.host, "rm", "-f", "pub") })
	if got := getRetry(t, "http://127.0.0.1:18080/"); got != "hi-pub\n" {
		t.Errorf("GET 127.0.0.1:18080 = %q", got)
	}
	if got := getRetry(t, "http://"+gw+":18081/"); got != "hi-pub\n" {
		t.Errorf("GET %s:18081 = %q", gw, got)
	}
	_, _, logs := run(t, dockers[0], "--host", d.host, "logs", "pub") // httpd logs to stderr
	if n := strings.Count(logs, "["+"::ffff:"+gw+"]:"); n < 4 {
		t.Errorf("httpd saw clients other than %s:\n%s", gw, logs)
	}
	if got := dk("port", "pub", "80"); !strings.Contains(got, "127.0.0.1:18080") || !strings.Contains(got, gw+":18081") {
		t.Errorf("docker port = %q", got)
	}
	dk("run", "-d", "--name", "pubp", "--expose", "80", "-P", "busybox", "sh", "-c", httpdScript("hi-all"))
	t.Cleanup(func() { run(t, dockers[0], "--host", d.host, "rm", "-f", "pubp") })
	hp := dk("inspect", "-f", `{{(index (index .NetworkSettings.Ports "80/tcp") 0).HostPort}}`, "pubp")
	if got := getRetry(t, "http://127.0.0.1:"+hp+"/"); got != "hi-all\n" {
		t.Errorf("GET -P port %s = %q", hp, got)
	}
	t.Cleanup(func() { run(t, dockers[0], "--host", d.host, "rm", "-f", "taken") })
	if code, _, errs := run(t, dockers[0], "--host", d.host, "run", "--name", "taken", "-p", "127.0.0.1:18080:80", "busybox", "true"); code == 0 || !strings.Contains(errs, "port is already allocated") {
		t.Errorf("second -p 18080 = %d %q", code, errs)
	}
	dk("rm", "-f", "pub", "pubp", "taken")
}

// TestNetworkModes: none has only lo, container:X shares X's namespace,
// host the host's, and the default bridge gives eth0 with the host's MTU.
func TestNetworkModes(t *testing.T) {
	d := newPierd(t, "busybox", "overlay")
	dk := dockerOn(t, d)
	if got := dk("run", "--rm", "--network", "none", "busybox", "sh", "-c", "ls /sys/class/net"); got != "lo" {
		t.Errorf("none: links %q", got)
	}
	if got := dk("run", "--rm", "busybox", "sh", "-c", "ls /sys/class/net | tr '\\n' ' '; ip route | grep -c default"); got != "eth0 lo 1" {
		t.Errorf("bridge: links and default routes %q", got)
	}
	if got := dk("run", "--rm", "--mac-address", "02:42:ac:11:00:99", "busybox", "cat", "/sys/class/net/eth0/address"); got != "02:42:ac:11:00:99" {
		t.Errorf("--mac-address: eth0 has %q", got)
	}
	dk("run", "-d", "--name", "owner", "busybox", "sleep", "1000")
	t.Cleanup(func() { run(t, dockers[0], "--host", d.host, "rm", "-f", "owner") })
	pid := dk("inspect", "-f", "{{.State.Pid}}", "owner")
	want, err := os.Readlink("/proc/" + pid + "/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	if got := dk("run", "--rm", "--network", "container:owner", "busybox", "readlink", "/proc/self/ns/net"); got != want {
		t.Errorf("container:owner netns %q, owner's %q", got, want)
	}
	host, _ := os.Readlink("/proc/self/ns/net")
	if got := dk("run", "--rm", "--network", "host", "busybox", "readlink", "/proc/self/ns/net"); got != host {
		t.Errorf("host netns %q, host's %q", got, host)
	}
	dk("rm", "-f", "owner")
}

// TestNetworkBandwidth: a 10 mbit egress and a 20 mbit ingress limit
// measure within ±20 % with iperf3, the server in the container's
// namespace and the client on the host (receiving with -R).
func TestNetworkBandwidth(t *testing.T) {
	testutil.RequiresRoot(t)
	testutil.Requires(t, "busybox", "overlay")
	if _, err := exec.LookPath("iperf3"); err != nil {
		t.Skip("iperf3 not installed (apt-get install -y iperf3)")
	}
	testutil.CheckLeaks(t)
	d := startPierd(t, shortDir(t))
	dk := dockerOn(t, d)
	dk("run", "-d", "--name", "bw", "--network", "name=bridge,driver-opt=pier.bandwidth.egress=10mbit,driver-opt=pier.bandwidth.ingress=20mbit", "busybox", "sleep", "1000")
	t.Cleanup(func() { run(t, dockers[0], "--host", d.host, "rm", "-f", "bw") })
	pid := dk("inspect", "-f", "{{.State.Pid}}", "bw")
	ip := dk("inspect", "-f", "{{.NetworkSettings.Networks.bridge.IPAddress}}", "bw")
	for _, c := range []struct {
		dir  string
		want float64
		args []string
	}{{"egress", 10, []string{"-R"}}, {"ingress", 20, nil}} {
		mbit := iperf(t, pid, ip, c.args...)
		t.Logf("%s limited to %.0f mbit: measured %.2f mbit/s", c.dir, c.want, mbit)
		if mbit < 0.8*c.want || mbit > 1.2*c.want {
			t.Errorf("%s %.2f mbit/s, want %.0f ±20%%", c.dir, mbit, c.want)
		}
	}
	if code, _, errs := run(t, dockers[0], "--host", d.host, "run", "--rm", "--network", "name=bridge,driver-opt=pier.bandwidth.ingress=fast", "busybox", "true"); code == 0 || !strings.Contains(errs, "pier.bandwidth.ingress") {
		t.Errorf("bad rate = %d %q", code, errs)
	}
	dk("rm", "-f", "bw")
}

// TestNetworkChurn: 50 containers started and removed, five at a time,
// leave no veth, address, namespace file or rule (the leak check) and no
// allocation.
func TestNetworkChurn(t *testing.T) {
	d := newPierd(t, "busybox", "overlay")
	dk := dockerOn(t, d)
	dk("network", "create", "churn")
	var wg sync.WaitGroup
	for w := range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				net := "bridge"
				if i%2 == 1 {
					net = "churn"
				}
				name := fmt.Sprintf("churn%d-%d", w, i)
				code, out, errs := run(t, dockers[0], "--host", d.host, "run", "-d", "--name", name, "--network", net, "-p", "80", "busybox", "sleep", "1000")
				if code != 0 {
					t.Errorf("run %s = %d %q %q", name, code, out, errs)
				}
				if code, _, errs := run(t, dockers[0], "--host", d.host, "rm", "-f", name); code != 0 {
					t.Errorf("rm %s = %d %q", name, code, errs)
				}
			}
		}()
	}
	wg.Wait()
	dk("network", "rm", "churn")
	if ents, _ := os.ReadDir(filepath.Join(d.root, "netns")); len(ents) != 0 {
		t.Errorf("namespace files left: %v", ents)
	}
	b, _ := os.ReadFile(filepath.Join(d.root, "network", "ipam", dk("network", "inspect", "-f", "{{.ID}}", "bridge")+".json"))
	if !strings.Contains(string(b), `"allocated": {}`) {
		t.Errorf("addresses left allocated: %s", b)
	}
	noContainersLeft(t, d)
}

// TestNetworkSurvivesPierdKill: after kill -9 of pierd a running container
// keeps its address and name, served by the restarted pierd's resolver.
func TestNetworkSurvivesPierdKill(t *testing.T) {
	d := newPierd(t, "busybox", "overlay")
	dir := d.dir
	dk := dockerOn(t, d)
	dk("network", "create", "keep")
	dk("run", "-d", "--name", "kept", "--network", "keep", "busybox", "sh", "-c", httpdScript("still-here"))
	ip := dk("inspect", "-f", "{{.NetworkSettings.Networks.keep.IPAddress}}", "kept")
	if err := d.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-d.done
	d = startPierd(t, dir)
	dk = dockerOn(t, d)
	t.Cleanup(func() { run(t, dockers[0], "--host", d.host, "rm", "-f", "kept") })
	if got := dk("inspect", "-f", "{{.NetworkSettings.Networks.keep.IPAddress}}", "kept"); got != ip {
		t.Errorf("address after restart %q, before %q", got, ip)
	}
	out := dk("run", "--rm", "--network", "keep", "busybox", "sh", "-c",
		"for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://kept/ && exit 0; sleep 0.2; done; exit 1")
	if out != "still-here" {
		t.Errorf("wget kept after restart = %q", out)
	}
	dk("rm", "-f", "kept")
	dk("network", "rm", "keep")
}

// iperf runs a 2 s iperf3 test between the host and a server in the
// namespace of process pid, and returns what the receiver measured.
func iperf(t *testing.T, pid, ip string, args ...string) float64 {
	t.Helper()
	srv := exec.Command("nsenter", "--net=/proc/"+pid+"/ns/net", "iperf3", "-s", "-1", "-p", "5201")
	var srvOut strings.Builder
	srv.Stdout, srv.Stderr = &srvOut, &srvOut
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()
	var res struct {
		Error string `json:"error"`
		End   struct {
			SumReceived struct {
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
	}
	for i := 0; ; i++ { // until the server listens: iperf3 -J says so in "error"
		out, err := exec.Command("iperf3", append([]string{"-c", ip, "-p", "5201", "-t", "2", "-J"}, args...)...).Output()
		res.Error = ""
		if err == nil {
			err = json.Unmarshal(out, &res)
		}
		if err == nil && res.Error == "" {
			return res.End.SumReceived.BitsPerSecond / 1e6
		}
		if i == 40 {
			t.Fatalf("iperf3 client: %v %s; server: %s", err, res.Error, srvOut.String())
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// TestNetworkConnectRunning: a running container connected to a user
// network gets a second interface there, its /etc/hosts names its new
// address, and that network's containers reach it by name; disconnecting
// takes all of it away again.
func TestNetworkConnectRunning(t *testing.T) {
	d := newPierd(t, "busybox", "overlay")
	pier := testutil.Binary(t, "pier")
	p := func(args ...string) string {
		t.Helper()
		code, out, errs := run(t, pier, append([]string{"-H", d.host}, args...)...)
		if code != 0 {
			t.Fatalf("pier %s = %d %q %q", strings.Join(args, " "), code, out, errs)
		}
		return strings.TrimSpace(out)
	}
	p("network", "create", "--subnet", "10.235.7.0/24", "late")
	p("run", "-d", "--name", "joiner", "busybox", "sleep", "1000")
	t.Cleanup(func() { run(t, pier, "-H", d.host, "rm", "-f", "joiner") })
	p("network", "connect", "late", "joiner")
	ip := p("inspect", "-f", "{{.NetworkSettings.Networks.late.IPAddress}}", "joiner")
	if !strings.HasPrefix(ip, "10.235.7.") {
		t.Fatalf("joiner's address on late = %q", ip)
	}
	if got := p("exec", "joiner", "sh", "-c", "ip -4 -o addr show eth1 | awk '{print $4}'"); got != ip+"/24" {
		t.Errorf("joiner's eth1 = %q, want %s/24", got, ip)
	}
	if hosts := p("exec", "joiner", "cat", "/etc/hosts"); !strings.Contains(hosts, ip) {
		t.Errorf("/etc/hosts after connect lacks %s:\n%s", ip, hosts)
	}
	p("run", "--rm", "--network", "late", "busybox", "ping", "-c1", "-W2", "joiner")
	p("network", "disconnect", "late", "joiner")
	if code, out, _ := run(t, pier, "-H", d.host, "exec", "joiner", "ip", "link", "show", "eth1"); code == 0 {
		t.Errorf("eth1 still there after disconnect: %q", out)
	}
	if hosts := p("exec", "joiner", "cat", "/etc/hosts"); strings.Contains(hosts, ip) {
		t.Errorf("/etc/hosts after disconnect still names %s:\n%s", ip, hosts)
	}
	if code, _, _ := run(t, pier, "-H", d.host, "run", "--rm", "--network", "late", "busybox", "ping", "-c1", "-W1", ip); code == 0 {
		t.Errorf("%s still answers on late after disconnect", ip)
	}
	p("rm", "-f", "joiner")
	p("network", "rm", "late")
	noContainersLeft(t, d)
}

// TestNetworkPublishUDP: a UDP port published on 127.0.0.1 reaches a
// server in the container's namespace, and the reply comes back.
func TestNetworkPublishUDP(t *testing.T) {
	testutil.RequiresRoot(t)
	testutil.Requires(t, "busybox", "overlay")
	testutil.CheckLeaks(t)
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 (the UDP server) is not installed")
	}
	d := startPierd(t, shortDir(t))
	dk := dockerOn(t, d)
	dk("run", "-d", "--name", "udp1", "-p", "127.0.0.1:15353:5353/udp", "busybox", "sleep", "1000")
	t.Cleanup(func() { run(t, dockers[0], "--host", d.host, "rm", "-f", "udp1") })
	if got := dk("port", "udp1"); got != "5353/udp -> 127.0.0.1:15353" {
		t.Errorf("docker port = %q", got)
	}
	if code, out, errs := run(t, testutil.Binary(t, "pier"), "-H", d.host, "port", "udp1", "5353/udp"); code != 0 || out != "127.0.0.1:15353\n" {
		t.Errorf("pier port udp1 5353/udp = %d %q %q", code, out, errs)
	}
	pid := dk("inspect", "-f", "{{.State.Pid}}", "udp1")
	// busybox has no UDP server: python3 serves in the container's netns.
	srv := exec.Command("nsenter", "--net=/proc/"+pid+"/ns/net", "python3", "-c",
		"import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(('0.0.0.0',5353))\n"+
			"while True:\n d,a=s.recvfrom(100)\n s.sendto(d.upper(),a)\n")
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Process.Kill(); _ = srv.Wait() })
	conn, err := net.Dial("udp", "127.0.0.1:15353")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	buf := make([]byte, 100)
	for i := 0; ; i++ {
		if _, err := conn.Write([]byte("ping")); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		n, err := conn.Read(buf)
		if err == nil && string(buf[:n]) == "PING" {
			break
		}
		if i == 25 {
			t.Fatalf("no UDP answer through 127.0.0.1:15353: %v %q", err, buf[:n])
		}
	}
}
