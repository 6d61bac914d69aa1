package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// More of the CRI through crictl: pod stats and container events, and a
// Bidirectional (rshared) host-path mount.

// TestCRIPodStatsAndEvents: crictl statsp sums the pod's cpu and memory
// and reads its network counters; crictl events streams the container's
// created, started, stopped and deleted events.
func TestCRIPodStatsAndEvents(t *testing.T) {
	requiresCRI(t)
	e := newCRI(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	evCmd := exec.CommandContext(ctx, e.crictl, "--config", e.config, "events", "-o", "json")
	evOut, err := evCmd.StdoutPipe()
	criMust(t, err)
	criMust(t, evCmd.Start())
	var mu sync.Mutex
	var events []string // "<id> <type>"
	evDone := make(chan struct{})
	go func() {
		defer close(evDone)
		dec := json.NewDecoder(bufio.NewReader(evOut))
		for {
			var ev struct {
				ContainerID string `json:"containerId"`
				Type        any    `json:"containerEventType"`
			}
			if dec.Decode(&ev) != nil {
				return
			}
			mu.Lock()
			events = append(events, fmt.Sprintf("%s %v", ev.ContainerID, ev.Type))
			mu.Unlock()
		}
	}()
	time.Sleep(200 * time.Millisecond) // let crictl subscribe
	podID, ids := e.runPod(t, "stats", map[string]string{
		"busy": "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; head -c 4000000 /dev/zero > /tmp/fill; echo page > /tmp/index.html; exec httpd -f -p 8080 -h /tmp",
	})
	var podIP string
	for i := 0; i < 50 && podIP == ""; i++ {
		var st struct {
			Status struct {
				Network struct{ IP string } `json:"network"`
			} `json:"status"`
		}
		_ = json.Unmarshal([]byte(e.cri(t, "inspectp", podID)), &st)
		podIP = st.Status.Network.IP
	}
	// traffic into the pod's eth0, from the host over the test's bridge
	var page string
	for i := 0; i < 50 && page != "page"; i++ {
		if resp, err := http.Get("http://" + podIP + ":8080/index.html"); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			page = strings.TrimSpace(string(b))
		} else {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if page != "page" {
		t.Fatalf("GET %s:8080 from the host = %q", podIP, page)
	}
	time.Sleep(300 * time.Millisecond) // the busy loop is done
	var stats struct {
		Stats []struct {
			Linux struct {
				CPU struct {
					UsageCoreNanoSeconds struct{ Value protoU64 } `json:"usageCoreNanoSeconds"`
				} `json:"cpu"`
				Memory struct {
					WorkingSetBytes struct{ Value protoU64 } `json:"workingSetBytes"`
				} `json:"memory"`
				Network struct {
					DefaultInterface struct {
						Name    string
						RxBytes struct{ Value protoU64 } `json:"rxBytes"`
					} `json:"defaultInterface"`
				} `json:"network"`
				Process struct {
					ProcessCount struct{ Value protoU64 } `json:"processCount"`
				} `json:"process"`
				Containers []struct {
					CPU struct {
						UsageCoreNanoSeconds struct{ Value protoU64 } `json:"usageCoreNanoSeconds"`
					} `json:"cpu"`
				} `json:"containers"`
			} `json:"linux"`
		} `json:"stats"`
	}
	out := e.cri(t, "statsp", "-o", "json", "--id", podID)
	criMust(t, json.Unmarshal([]byte(out), &stats))
	if len(stats.Stats) != 1 {
		t.Fatalf("statsp: %s", out)
	}
	l := stats.Stats[0].Linux
	if l.CPU.UsageCoreNanoSeconds.Value == 0 || l.Memory.WorkingSetBytes.Value == 0 || l.Process.ProcessCount.Value == 0 ||
		len(l.Containers) != 1 || l.Containers[0].CPU.UsageCoreNanoSeconds.Value != l.CPU.UsageCoreNanoSeconds.Value {
		t.Errorf("pod cpu, memory, processes or containers missing: %s", out)
	}
	if l.Network.DefaultInterface.Name != "eth0" || l.Network.DefaultInterface.RxBytes.Value == 0 {
		t.Errorf("pod network: %+v, want eth0 with the ping's bytes received: %s", l.Network, out)
	}
	e.cri(t, "stopp", podID)
	e.cri(t, "rmp", podID)
	want := []string{"CONTAINER_CREATED_EVENT", "CONTAINER_STARTED_EVENT", "CONTAINER_STOPPED_EVENT", "CONTAINER_DELETED_EVENT"}
	var got []string
	for i := 0; i < 50; i++ {
		mu.Lock()
		got = got[:0]
		for _, ev := range events {
			if id, typ, _ := strings.Cut(ev, " "); id == ids["busy"] {
				got = append(got, typ)
			}
		}
		mu.Unlock()
		if len(got) >= len(want) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("events of %s: %v, want %v (all: %v)", ids["busy"], got, want, events)
	}
	cancel()
	_ = evCmd.Wait()
	<-evDone
	// a pod user namespace is refused, naming the field, and leaves nothing
	userns := e.write(t, "userns-pod.json", `{"metadata":{"name":"userns","namespace":"e2e","uid":"uid-userns"},
"linux":{"security_context":{"namespace_options":{"userns_options":{"mode":0,
"uids":[{"container_id":0,"host_id":1000,"length":65536}],"gids":[{"container_id":0,"host_id":1000,"length":65536}]}}}}}`)
	uout, err := exec.Command(e.crictl, "--config", e.config, "runp", userns).CombinedOutput()
	if err == nil || !strings.Contains(string(uout), "InvalidArgument") || !strings.Contains(string(uout), "userns_options.mode: POD") {
		t.Errorf("runp with a pod user namespace: %v\n%s", err, uout)
	}
	e.checkGone(t)
}

// protoU64 is a uint64 as protojson writes it: a JSON string.
type protoU64 uint64

func (u *protoU64) UnmarshalJSON(b []byte) error {
	var v uint64
	err := json.Unmarshal(bytes.Trim(b, `"`), &v)
	*u = protoU64(v)
	return err
}

// TestCRIMountPropagationBidirectional: a privileged container's mount
// under a Bidirectional host path appears on the host, and the host's
// under it appears in the container. The host path is an rshared bind of
// the test's own temp dir.
func TestCRIMountPropagationBidirectional(t *testing.T) {
	requiresCRI(t)
	e := newCRI(t)
	src := filepath.Join(e.dir, "prop")
	criMust(t, os.MkdirAll(filepath.Join(src, "fromctr"), 0o755))
	criMust(t, os.MkdirAll(filepath.Join(src, "fromhost"), 0o755))
	mount := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("mount", args...).CombinedOutput(); err != nil {
			t.Fatalf("mount %v: %v\n%s", args, err, out)
		}
	}
	t.Cleanup(func() {
		for _, p := range []string{"fromctr", "fromhost", ""} {
			_ = exec.Command("umount", "-l", filepath.Join(src, p)).Run()
		}
	})
	mount("--bind", src, src)
	mount("--make-rshared", src)
	pod := e.write(t, "prop-pod.json", fmt.Sprintf(`{"metadata":{"name":"prop","namespace":"e2e","uid":"uid-prop"},
"log_directory":%q,"linux":{"security_context":{"privileged":true}}}`, filepath.Join(e.dir, "logs", "prop")))
	podID := e.cri(t, "runp", pod)
	ctr := e.write(t, "prop-ctr.json", fmt.Sprintf(`{"metadata":{"name":"mounter"},"image":{"image":"busybox:latest"},
"command":["sh","-c","mount -t tmpfs ctrtmpfs /mnt/prop/fromctr && exec sleep 1000"],"log_path":"mounter.log",
"mounts":[{"container_path":"/mnt/prop","host_path":%q,"propagation":2}],
"linux":{"security_context":{"privileged":true}}}`, src))
	id := e.cri(t, "create", podID, ctr, pod)
	e.cri(t, "start", id)
	var hostSees bool
	for i := 0; i < 50 && !hostSees; i++ {
		mi, _ := os.ReadFile("/proc/self/mountinfo")
		hostSees = strings.Contains(string(mi), " "+filepath.Join(src, "fromctr")+" ")
		if !hostSees {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if !hostSees {
		t.Errorf("the container's mount on /mnt/prop/fromctr did not reach the host's %s", filepath.Join(src, "fromctr"))
	}
	mount("-t", "tmpfs", "hosttmpfs", filepath.Join(src, "fromhost"))
	if out := e.cri(t, "exec", id, "sh", "-c", "grep -c ' /mnt/prop/fromhost ' /proc/self/mountinfo || true"); out != "1" {
		t.Errorf("the host's mount under the bind seen %s times in the container, want 1", out)
	}
	// the container's own mounts stay in: only the bind's peers are shared
	mi, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(mi), "/merged/mnt/prop") || strings.Contains(string(mi), "/rootfs/mnt/prop") {
		t.Errorf("the container's rootfs mounts reached the host:\n%s", mi)
	}
	e.cri(t, "stopp", podID)
	e.cri(t, "rmp", podID)
	for _, p := range []string{"fromctr", "fromhost"} {
		_ = exec.Command("umount", "-l", filepath.Join(src, p)).Run()
	}
	e.checkGone(t)
}
