package e2e_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pier-engine/pier/internal/testutil"
)

// The Kubernetes CRI through crictl (cri-tools v1.37.0, built by
// scripts/install-critools.sh): a pod of two containers sharing localhost,
// exec, logs, port-forward, stop and remove leaving nothing, and a pod that
// outlives a kill -9 of pierd.

const (
	criBridge = "piercrie2e0"
	criSubnet = "10.234.0.0/24"
)

type criEnv struct {
	d      *pierd
	dir    string
	sock   string
	crictl string
	config string // crictl's
}

// crictlPath is the crictl that scripts/install-critools.sh built.
func crictlPath(t *testing.T) string {
	t.Helper()
	p := os.Getenv("CRICTL")
	if p == "" {
		p = filepath.Join(os.TempDir(), "cri-tools", "v1.37.0", "bin", "crictl")
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("crictl missing (%v): run scripts/install-critools.sh or set CRICTL", err)
	}
	for _, plugin := range []string{"bridge", "host-local", "loopback", "portmap"} {
		if _, err := os.Stat("/usr/lib/cni/" + plugin); err != nil {
			t.Fatalf("CNI plugin %s missing: apt-get install containernetworking-plugins (scripts/install-deps.sh)", plugin)
		}
	}
	return p
}

// newCRI starts a pierd serving the CRI on a private socket, with a CNI
// conflist of its own: a bridge without a default route or masquerade.
func newCRI(t *testing.T) *criEnv {
	t.Helper()
	crictl := crictlPath(t)
	dir := shortDir(t)
	e := &criEnv{dir: dir, sock: filepath.Join(dir, "cri.sock"), crictl: crictl, config: filepath.Join(dir, "crictl.yaml")}
	netd := filepath.Join(dir, "net.d")
	criMust(t, os.MkdirAll(netd, 0o755))
	conf := fmt.Sprintf(`{"cniVersion":"0.4.0","name":"pier-e2e","plugins":[{"type":"bridge","bridge":%q,"isGateway":true,
"isDefaultGateway":false,"ipMasq":false,"hairpinMode":true,"ipam":{"type":"host-local","dataDir":%q,
"ranges":[[{"subnet":%q}]],"routes":[]}},{"type":"portmap","capabilities":{"portMappings":true},"snat":true}]}`,
		criBridge, filepath.Join(dir, "ipam"), criSubnet)
	criMust(t, os.WriteFile(filepath.Join(netd, "10-e2e.conflist"), []byte(conf), 0o644))
	criMust(t, os.WriteFile(filepath.Join(dir, "daemon.json"), []byte(fmt.Sprintf(`{"cri":{"cni-conf-dir":%q}}`, netd)), 0o644))
	criMust(t, os.WriteFile(e.config, []byte(fmt.Sprintf("runtime-endpoint: unix://%s\nimage-endpoint: unix://%s\ntimeout: 30\n", e.sock, e.sock)), 0o644))
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", criBridge).Run() })
	e.d = e.start(t)
	return e
}

func (e *criEnv) start(t *testing.T) *pierd {
	t.Helper()
	d := startPierd(t, e.dir, "--config", filepath.Join(e.dir, "daemon.json"), "--cri-socket", e.sock)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat(e.sock); err == nil {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("no CRI socket %s; log:\n%s", e.sock, d.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func criMust(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// cri runs crictl and returns its trimmed stdout; it fails the test on
// an error.
func (e *criEnv) cri(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(e.crictl, append([]string{"--config", e.config}, args...)...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("crictl %v: %v\n%s\npierd log:\n%s", args, err, errb.String(), e.d.stderr)
	}
	return strings.TrimSpace(out.String())
}

func (e *criEnv) write(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(e.dir, name)
	criMust(t, os.WriteFile(p, []byte(content), 0o644))
	return p
}

// runPod makes a pod and starts a container per command in it.
func (e *criEnv) runPod(t *testing.T, name string, cmds map[string]string) (string, map[string]string) {
	t.Helper()
	pod := e.write(t, name+"-pod.json", fmt.Sprintf(`{"metadata":{"name":%q,"namespace":"e2e","uid":"uid-%s"},
"hostname":%q,"log_directory":%q,"linux":{}}`, name, name, name, filepath.Join(e.dir, "logs", name)))
	podID := e.cri(t, "runp", pod)
	ids := map[string]string{}
	for cname, cmd := range cmds {
		c := e.write(t, name+"-"+cname+".json", fmt.Sprintf(`{"metadata":{"name":%q},"image":{"image":"busybox:latest"},
"command":["sh","-c",%q],"log_path":"%s.log","linux":{}}`, cname, cmd, cname))
		ids[cname] = e.cri(t, "create", podID, c, pod)
		e.cri(t, "start", ids[cname])
	}
	return podID, ids
}

// checkGone checks that no pod, container, namespace file or mount of
// the CRI is left.
func (e *criEnv) checkGone(t *testing.T) {
	t.Helper()
	if out := e.cri(t, "pods", "-q"); out != "" {
		t.Errorf("pods left: %s", out)
	}
	if out := e.cri(t, "ps", "-a", "-q"); out != "" {
		t.Errorf("containers left: %s", out)
	}
	ents, _ := os.ReadDir(filepath.Join(e.d.root, "cri", "netns"))
	if len(ents) > 0 {
		t.Errorf("netns files left: %v", ents)
	}
	mi, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(mi), e.d.root+"/") {
		t.Errorf("mounts left under %s", e.d.root)
	}
	ips, _ := filepath.Glob(filepath.Join(e.dir, "ipam", "*", "10.*"))
	if len(ips) > 0 {
		t.Errorf("CNI addresses left allocated: %v", ips)
	}
}

func TestCRIPodLocalhostExecLogsPortForward(t *testing.T) {
	requiresCRI(t)
	e := newCRI(t)
	events := e.watchEvents(t)
	podID, ids := e.runPod(t, "web", map[string]string{
		"server":  "echo hello-from-server; echo pier-cri-page > /tmp/index.html; exec httpd -f -p 8080 -h /tmp",
		"sidecar": "exec sleep 1000",
	})
	// the sidecar reaches the server on the pod's localhost
	var got string
	for i := 0; i < 50; i++ {
		cmd := exec.Command(e.crictl, "--config", e.config, "exec", ids["sidecar"], "wget", "-qO-", "http://127.0.0.1:8080/index.html")
		out, err := cmd.Output()
		if got = strings.TrimSpace(string(out)); err == nil && got == "pier-cri-page" {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got != "pier-cri-page" {
		t.Fatalf("sidecar wget localhost:8080 = %q, want pier-cri-page", got)
	}
	if out := e.cri(t, "exec", ids["sidecar"], "sh", "-c", "echo $((6*7))"); out != "42" {
		t.Errorf("exec output %q, want 42", out)
	}
	// the pod's IPC and UTS namespaces are shared, with the pod's hostname
	nsOf := func(id string) string {
		return e.cri(t, "exec", id, "sh", "-c", "readlink /proc/self/ns/ipc; readlink /proc/self/ns/uts; hostname")
	}
	hostIPC, _ := os.Readlink("/proc/self/ns/ipc")
	if a, b := nsOf(ids["server"]), nsOf(ids["sidecar"]); a != b || !strings.HasSuffix(a, "\nweb") || strings.Contains(a, hostIPC) {
		t.Errorf("namespaces and hostname: server %q, sidecar %q; want the same, not the host's IPC %s, hostname web", a, b, hostIPC)
	}
	// and its /dev/shm (POSIX shm), a tmpfs of the pod's
	e.cri(t, "exec", ids["server"], "sh", "-c", "echo shm-shared > /dev/shm/pier")
	if out := e.cri(t, "exec", ids["sidecar"], "cat", "/dev/shm/pier"); out != "shm-shared" {
		t.Errorf("sidecar's /dev/shm/pier = %q, want the server's shm-shared", out)
	}
	if logs := e.cri(t, "logs", ids["server"]); !strings.Contains(logs, "hello-from-server") {
		t.Errorf("crictl logs = %q", logs)
	}
	raw, err := os.ReadFile(filepath.Join(e.dir, "logs", "web", "server.log"))
	if err != nil || !strings.Contains(string(raw), " stdout F hello-from-server\n") {
		t.Errorf("CRI log file = %q, %v", raw, err)
	}
	// port-forward from the host to the pod's port 8080
	ctx, cancel := context.WithCancel(context.Background())
	pf := exec.CommandContext(ctx, e.crictl, "--config", e.config, "port-forward", podID, "18931:8080")
	criMust(t, pf.Start())
	defer func() { cancel(); _ = pf.Wait() }()
	body := ""
	for i := 0; i < 50 && body == ""; i++ {
		time.Sleep(100 * time.Millisecond)
		resp, err := http.Get("http://127.0.0.1:18931/index.html")
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body = strings.TrimSpace(string(b))
	}
	if body != "pier-cri-page" {
		t.Errorf("port-forward GET = %q", body)
	}
	cancel()
	// the Docker API does not list the CRI's containers
	resp, err := e.d.get("/containers/json?all=1")
	criMust(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(b), ids["server"]) {
		t.Errorf("docker ps lists a CRI container: %s", b)
	}
	e.checkPodStats(t, podID, 2)
	e.checkPodMetrics(t, podID)
	e.cri(t, "stopp", podID)
	e.cri(t, "rmp", podID)
	want := "CONTAINER_CREATED_EVENT CONTAINER_STARTED_EVENT CONTAINER_STOPPED_EVENT CONTAINER_DELETED_EVENT"
	if got := strings.Join(events.of(ids["server"], 4), " "); got != want {
		t.Errorf("crictl events of the server: %s, want %s", got, want)
	}
	e.checkGone(t)
}

func TestCRIPodSurvivesKill9(t *testing.T) {
	requiresCRI(t)
	e := newCRI(t)
	podID, ids := e.runPod(t, "survivor", map[string]string{"main": "echo up; exec sleep 1000"})
	criMust(t, e.d.cmd.Process.Kill())
	<-e.d.done
	e.d = e.start(t)
	if out := e.cri(t, "pods", "-q", "--state", "ready"); out != podID {
		t.Fatalf("ready pods after restart = %q, want %s", out, podID)
	}
	if out := e.cri(t, "ps", "-q", "--state", "running"); out != ids["main"] {
		t.Fatalf("running containers after restart = %q, want %s", out, ids["main"])
	}
	if out := e.cri(t, "exec", ids["main"], "echo", "still-here"); out != "still-here" {
		t.Errorf("exec after restart = %q", out)
	}
	e.cri(t, "stopp", podID)
	if out := e.cri(t, "ps", "-q", "--state", "running"); out != "" {
		t.Errorf("running after stopp: %q", out)
	}
	e.cri(t, "rmp", podID)
	e.checkGone(t)
}

// requiresCRI is newPierd's preamble without the pierd: root,
// busybox for the image, and the leak check.
func requiresCRI(t *testing.T) {
	t.Helper()
	testutil.RequiresRoot(t)
	testutil.Requires(t, "busybox", "overlay")
	testutil.CheckLeaks(t)
}
