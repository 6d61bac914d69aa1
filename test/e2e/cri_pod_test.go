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

// More of the CRI through crictl: pod stats, container events and the
// refusal of a pod user namespace (checked within the pod test of
// cri_test.go), and a Bidirectional (rshared) host-path mount.

// criEvents streams crictl events into a list of "<container id> <type>";
// stop ends it and returns what came.
type criEvents struct {
	mu     sync.Mutex
	events []string // Guarded by mu.
	cancel context.CancelFunc
	cmd    *exec.Cmd
	done   chan struct{}
}

func (e *criEnv) watchEvents(t *testing.T) *criEvents {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &criEvents{cancel: cancel, done: make(chan struct{})}
	w.cmd = exec.CommandContext(ctx, e.crictl, "--config", e.config, "events", "-o", "json")
	out, err := w.cmd.StdoutPipe()
	criMust(t, err)
	criMust(t, w.cmd.Start())
	t.Cleanup(func() { w.stop() })
	go func() {
		defer close(w.done)
		dec := json.NewDecoder(bufio.NewReader(out))
		for {
			var ev struct {
				ContainerID string `json:"containerId"`
				Type        any    `json:"containerEventType"`
			}
			if dec.Decode(&ev) != nil {
				return
			}
			w.mu.Lock()
			w.events = append(w.events, fmt.Sprintf("%s %v", ev.ContainerID, ev.Type))
			w.mu.Unlock()
		}
	}()
	time.Sleep(200 * time.Millisecond) // let crictl subscribe
	return w
}

// of returns the types of id's events, waiting up to 5 s for n of them.
func (w *criEvents) of(id string, n int) []string {
	var got []string
	for i := 0; i < 50; i++ {
		w.mu.Lock()
		got = got[:0]
		for _, ev := range w.events {
			if eid, typ, _ := strings.Cut(ev, " "); eid == id {
				got = append(got, typ)
			}
		}
		w.mu.Unlock()
		if len(got) >= n {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return got
}

func (w *criEvents) stop() {
	w.cancel()
	_ = w.cmd.Wait()
	<-w.done
}

// checkPodStats: crictl statsp sums the pod's cpu and memory, counts its
// processes, lists its containers and reads eth0's counters, after a GET
// from the host to the pod's port 8080 over the test's bridge.
func (e *criEnv) checkPodStats(t *testing.T, podID string, containers int) {
	t.Helper()
	var st struct {
		Status struct {
			Network struct{ IP string } `json:"network"`
		} `json:"status"`
	}
	criMust(t, json.Unmarshal([]byte(e.cri(t, "inspectp", podID)), &st))
	podIP := st.Status.Network.IP
	var page string
	for i := 0; i < 50 && page == ""; i++ {
		if resp, err := http.Get("http://" + podIP + ":8080/index.html"); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			page = strings.TrimSpace(string(b))
		} else {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if page == "" {
		t.Fatalf("GET %s:8080 from the host: nothing", podIP)
	}
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
	var sum protoU64
	for _, c := range l.Containers {
		sum += c.CPU.UsageCoreNanoSeconds.Value
	}
	if l.CPU.UsageCoreNanoSeconds.Value == 0 || l.Memory.WorkingSetBytes.Value == 0 || l.Process.ProcessCount.Value < protoU64(containers) ||
		len(l.Containers) != containers || sum != l.CPU.UsageCoreNanoSeconds.Value {
		t.Errorf("pod cpu, memory, processes or containers (want %d) wrong: %s", containers, out)
	}
	if l.Network.DefaultInterface.Name != "eth0" || l.Network.DefaultInterface.RxBytes.Value == 0 {
		t.Errorf("pod network: %+v, want eth0 with the GET's bytes received: %s", l.Network, out)
	}
}

// checkPodMetrics: crictl metricsp has the pod's cAdvisor-style metrics
// with the labels metricdescs names: the containers' memory and process
// count, the pod's eth0 bytes received (the checkPodStats GET came first).
func (e *criEnv) checkPodMetrics(t *testing.T, podID string) {
	t.Helper()
	var descs struct {
		Descriptors []struct {
			Name      string   `json:"name"`
			LabelKeys []string `json:"labelKeys"`
		} `json:"descriptors"`
	}
	criMust(t, json.Unmarshal([]byte(e.cri(t, "metricdescs", "-o", "json")), &descs))
	keys := map[string]int{}
	for _, d := range descs.Descriptors {
		keys[d.Name] = len(d.LabelKeys)
	}
	type metric struct {
		Name        string                   `json:"name"`
		LabelValues []string                 `json:"labelValues"`
		Value       struct{ Value protoU64 } `json:"value"`
	}
	var out struct {
		PodMetrics []struct {
			PodSandboxID     string   `json:"podSandboxId"`
			Metrics          []metric `json:"metrics"`
			ContainerMetrics []struct {
				Metrics []metric `json:"metrics"`
			} `json:"containerMetrics"`
		} `json:"podMetrics"`
	}
	raw := e.cri(t, "metricsp", "-o", "json")
	criMust(t, json.Unmarshal([]byte(raw), &out))
	got := map[string]protoU64{}
	for _, p := range out.PodMetrics {
		if p.PodSandboxID != podID {
			continue
		}
		all := p.Metrics
		for _, c := range p.ContainerMetrics {
			all = append(all, c.Metrics...)
		}
		for _, m := range all {
			if n, ok := keys[m.Name]; !ok || n != len(m.LabelValues) {
				t.Errorf("metric %s: %d label values, metricdescs has %d (known %v)", m.Name, len(m.LabelValues), n, ok)
			}
			got[m.Name] += m.Value.Value
		}
	}
	for _, name := range []string{"container_memory_usage_bytes", "container_processes", "container_network_receive_bytes_total", "container_start_time_seconds"} {
		if got[name] == 0 {
			t.Errorf("metric %s of pod %s: 0 or missing", name, podID)
		}
	}
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
// under it appears in the container. The container also has an image
// volume. The host path is an rshared bind of
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
"mounts":[{"container_path":"/mnt/prop","host_path":%q,"propagation":2},
{"container_path":"/iv","image":{"image":"busybox:latest"},"readonly":true,"image_sub_path":"bin"}],
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
	// an image volume: the image's /bin, read-only; removed with the pod
	// (checkGone finds no mount left under pier's root)
	if out := e.cri(t, "exec", id, "sh", "-c", "ls /iv/sh && ! touch /iv/x 2>/dev/null && echo ro"); out != "/iv/sh\nro" {
		t.Errorf("image volume /iv: %q, want the image's bin/sh, read-only", out)
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
