package e2e_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pier-engine/pier/internal/testutil"
)

// A pod with a user namespace of its own (userns_options POD): the
// container sees the kubelet's mapping, its root owns the image's files
// (idmapped layers) and writes its rootfs and a volume as the mapped host
// uid, the pod's network works through CNI, and stop/remove leave nothing
// (no namespace file, mount, address, or ACL entry on pierd's directories).

const usernsHostID = 300000

func usernsPodJSON(name, hostname string) string {
	return fmt.Sprintf(`{"metadata":{"name":%q,"namespace":"e2e","uid":"uid-%s"},"hostname":%q,
"linux":{"security_context":{"namespace_options":{"userns_options":{"mode":0,
"uids":[{"container_id":0,"host_id":%d,"length":65536}],"gids":[{"container_id":0,"host_id":%d,"length":65536}]}}}}}`,
		name, name, hostname, usernsHostID, usernsHostID)
}

func TestCRIPodUserNamespace(t *testing.T) {
	requiresCRI(t)
	testutil.Requires(t, "userns")
	e := newCRI(t)
	t.Cleanup(func() { // a failed test's pods go before its pierd
		_ = exec.Command(e.crictl, "--config", e.config, "rmp", "--all", "--force").Run()
	})
	// pierd's root is under the test's 0700 temp dir: the pod's root must
	// pass it, as it passes /var/lib for the default root
	criMust(t, os.Chmod(e.dir, 0o711))
	vol := filepath.Join(e.dir, "vol")
	criMust(t, os.Mkdir(vol, 0o755))
	criMust(t, os.Chown(vol, usernsHostID, usernsHostID))

	// a volume the kubelet asks to be idmapped (KEP-127): its root-owned
	// files are root's in the container, and what the container's root
	// writes is host root's on disk
	kvol := filepath.Join(e.dir, "kvol")
	criMust(t, os.Mkdir(kvol, 0o755))
	criMust(t, os.WriteFile(filepath.Join(kvol, "cfg"), []byte("k\n"), 0o644))

	pod := e.write(t, "uns-pod.json", usernsPodJSON("uns", "uns"))
	podID := e.cri(t, "runp", pod)
	ctr := e.write(t, "uns-ctr.json", fmt.Sprintf(`{"metadata":{"name":"main"},"image":{"image":"busybox:latest"},
"command":["sh","-c","echo up > /tmp/index.html; exec httpd -f -p 8080 -h /tmp"],
"working_dir":"/work/sub","mounts":[{"container_path":"/vol","host_path":%q},
{"container_path":"/kvol","host_path":%q,"uidMappings":[{"container_id":0,"host_id":%d,"length":65536}],
"gidMappings":[{"container_id":0,"host_id":%d,"length":65536}]}],"linux":{}}`, vol, kvol, usernsHostID, usernsHostID))
	id := e.cri(t, "create", podID, ctr, pod)
	e.cri(t, "start", id)

	if got := strings.Join(strings.Fields(e.cri(t, "exec", id, "cat", "/proc/self/uid_map")), " "); got != fmt.Sprintf("0 %d 65536", usernsHostID) {
		t.Errorf("uid_map in the container %q, want 0 %d 65536", got, usernsHostID)
	}
	if got := strings.Join(strings.Fields(e.cri(t, "exec", id, "cat", "/proc/self/gid_map")), " "); got != fmt.Sprintf("0 %d 65536", usernsHostID) {
		t.Errorf("gid_map in the container %q", got)
	}
	// the image's files, /etc/hosts and the rootfs's top are root's in the
	// container; it writes its rootfs and the volume
	if got := e.cri(t, "exec", id, "sh", "-c", "id -u; stat -c %u:%g /bin/busybox /etc/hosts / /dev/shm; echo r > /rootfile; echo v > /vol/f; hostname"); got != "0\n0:0\n0:0\n0:0\n0:0\nuns" {
		t.Errorf("in the container: %q, want uid 0, root-owned files, hostname uns", got)
	}
	if got := e.cri(t, "exec", id, "sh", "-c", "stat -c %u:%g /kvol /kvol/cfg && cat /kvol/cfg && echo n > /kvol/new && grep -c ' /kvol .*idmapped' /proc/self/mountinfo"); got != "0:0\n0:0\nk\n1" {
		t.Errorf("idmapped volume in the container: %q, want root's files, readable and writable, an idmapped mount", got)
	}
	var kst syscall.Stat_t
	if err := syscall.Stat(filepath.Join(kvol, "new"), &kst); err != nil || kst.Uid != 0 || kst.Gid != 0 {
		t.Errorf("a file the container's root wrote in the idmapped volume: %v %d:%d on the host, want 0:0", err, kst.Uid, kst.Gid)
	}
	// the working directory pierd made is root's too, and writable
	if got := e.cri(t, "exec", id, "sh", "-c", "stat -c %u:%g /work /work/sub && touch /work/sub/x && pwd"); got != "0:0\n0:0\n/work/sub" {
		t.Errorf("working dir made at start: %q, want root's, writable", got)
	}
	// the namespaces the container mounts on need its user namespace to
	// own them: sysfs (net), mqueue (ipc)
	if got := e.cri(t, "exec", id, "sh", "-c", "grep -c -E ' /sys sysfs | /dev/mqueue mqueue ' /proc/mounts"); got != "2" {
		t.Errorf("sysfs and mqueue mounts in the container: %q, want 2", got)
	}
	var insp struct {
		Info struct {
			Pid int `json:"pid"`
		} `json:"info"`
	}
	criMust(t, json.Unmarshal([]byte(e.cri(t, "inspect", id)), &insp))
	for _, f := range []string{fmt.Sprintf("/proc/%d/root/rootfile", insp.Info.Pid), filepath.Join(vol, "f")} {
		var st syscall.Stat_t
		if err := syscall.Stat(f, &st); err != nil {
			t.Errorf("stat %s: %v", f, err)
		} else if st.Uid != usernsHostID || st.Gid != usernsHostID {
			t.Errorf("%s on the host: %d:%d, want the mapped root %d", f, st.Uid, st.Gid, usernsHostID)
		}
	}
	// a second container joins the pod's user and PID namespaces
	side := e.write(t, "uns-side.json", `{"metadata":{"name":"side"},"image":{"image":"busybox:latest"},"command":["sleep","1000"],"linux":{}}`)
	sideID := e.cri(t, "create", podID, side, pod)
	e.cri(t, "start", sideID)
	nsOf := func(id string) string {
		return e.cri(t, "exec", id, "sh", "-c", "readlink /proc/self/ns/user; readlink /proc/self/ns/pid")
	}
	if a, b := nsOf(id), nsOf(sideID); a != b {
		t.Errorf("user and pid namespaces: main %q, side %q; want the pod's", a, b)
	}
	if got := e.cri(t, "exec", sideID, "sh", "-c", "ps -o comm | grep -c httpd"); got != "1" {
		t.Errorf("the side container sees %s httpd processes, want the main container's", got)
	}
	hostUser, _ := os.Readlink("/proc/self/ns/user")
	if got := e.cri(t, "exec", id, "readlink", "/proc/self/ns/user"); got == hostUser {
		t.Errorf("the container is in the host's user namespace %s", got)
	}
	// CNI: the host reaches the pod's address
	var podInsp struct {
		Status struct {
			Network struct {
				IP string `json:"ip"`
			} `json:"network"`
		} `json:"status"`
	}
	criMust(t, json.Unmarshal([]byte(e.cri(t, "inspectp", podID)), &podInsp))
	body := ""
	for i := 0; i < 50 && body == ""; i++ {
		resp, err := (&http.Client{Timeout: 2 * time.Second}).Get("http://" + podInsp.Status.Network.IP + ":8080/index.html")
		if err != nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body = strings.TrimSpace(string(b))
	}
	if body != "up" {
		t.Errorf("GET http://%s:8080 from the host = %q, want up", podInsp.Status.Network.IP, body)
	}

	e.checkUsernsBadInput(t)
	// kill -9 of pierd: the next one adopts the pod and its containers
	criMust(t, e.d.cmd.Process.Kill())
	<-e.d.done
	e.d = e.start(t)
	if out := e.cri(t, "pods", "-q", "--state", "ready"); out != podID {
		t.Errorf("ready pods after a kill -9 of pierd: %q, want %s", out, podID)
	}
	if got := strings.Join(strings.Fields(e.cri(t, "exec", sideID, "cat", "/proc/self/uid_map")), " "); got != fmt.Sprintf("0 %d 65536", usernsHostID) {
		t.Errorf("exec after the restart: uid_map %q", got)
	}
	e.cri(t, "stopp", podID)
	e.cri(t, "rmp", podID)
	e.checkGone(t)
	e.checkNoACL(t)
	if b, err := os.ReadFile(filepath.Join(kvol, "cfg")); err != nil || string(b) != "k\n" {
		t.Errorf("the idmapped volume's file after rmp: %q %v", b, err)
	}
}

// checkUsernsBadInput: malformed user namespace requests are refused,
// naming the field, and a pod whose namespaces cannot be made (a hostname
// the kernel refuses) leaves nothing.
func (e *criEnv) checkUsernsBadInput(t *testing.T) {
	t.Helper()
	for _, c := range []struct{ opts, want string }{
		{`{"mode":1}`, "userns_options.mode: CONTAINER"},
		{`{"mode":0,"uids":[{"container_id":1,"host_id":1000,"length":10}],"gids":[{"container_id":0,"host_id":1000,"length":10}]}`,
			"userns_options.uids: the mapping must start at container id 0"},
		{`{"mode":0,"uids":[{"container_id":0,"host_id":1000,"length":10},{"container_id":10,"host_id":5000,"length":10}],"gids":[{"container_id":0,"host_id":1000,"length":10}]}`,
			"userns_options.uids: want exactly one mapping, got 2"},
	} {
		p := e.write(t, "uns-bad.json", `{"metadata":{"name":"bad","namespace":"e2e","uid":"uid-bad"},
"linux":{"security_context":{"namespace_options":{"userns_options":`+c.opts+`}}}}`)
		out, err := exec.Command(e.crictl, "--config", e.config, "runp", p).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "InvalidArgument") || !strings.Contains(string(out), c.want) {
			t.Errorf("runp with userns_options %s: %v\n%s\nwant InvalidArgument naming %q", c.opts, err, out, c.want)
		}
	}
	before, _ := os.ReadDir(filepath.Join(e.d.root, "cri", "pods"))
	p := e.write(t, "uns-long.json", usernsPodJSON("long", strings.Repeat("h", 65)))
	if out, err := exec.Command(e.crictl, "--config", e.config, "runp", p).CombinedOutput(); err == nil {
		t.Errorf("runp with a 65-byte hostname in a user namespace succeeded: %s", out)
	}
	if after, _ := os.ReadDir(filepath.Join(e.d.root, "cri", "pods")); len(after) != len(before) {
		t.Errorf("a failed runp left a pod directory: %v", after)
	}
}

// checkNoACL: no ACL entry is left on pierd's directories.
func (e *criEnv) checkNoACL(t *testing.T) {
	t.Helper()
	for _, d := range []string{e.d.root, filepath.Join(e.d.root, "containers"), filepath.Join(e.d.root, "cri"), filepath.Join(e.d.root, "cri", "pods")} {
		if _, err := syscall.Getxattr(d, "system.posix_acl_access", make([]byte, 256)); err != syscall.ENODATA && !os.IsNotExist(err) {
			t.Errorf("%s still has an ACL (%v)", d, err)
		}
	}
	if st, err := os.Stat(e.d.root); err != nil || st.Mode().Perm() != 0o710 {
		t.Errorf("pierd's root mode after the pod: %v %v, want 0710", st.Mode(), err)
	}
}
