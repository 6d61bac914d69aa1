// Command client times the CRI calls of a busybox pod without a crictl
// process start in each measurement: RunPodSandbox + CreateContainer +
// StartContainer (pod start), and ExecSync of `true`. It prints the medians
// in ms and, with -v, every sample.
//
//	go run ./bench/cri/client -endpoint unix:///run/pier/cri.sock -n 20
//	go run ./bench/cri/client -n 10 -json cri.json \
//	    -compare pier=unix:///tmp/x/cri.sock,containerd=unix:///tmp/x/c.sock
//
// With -compare the endpoints take turns, one pod each, the first of them
// first in odd rounds and last in even ones, so that load on the machine
// falls on all of them alike; it prints the ratios of the first to the
// second and the goal lines (≤ 0.5× for both). The image is pulled through
// every endpoint before the timing, and each endpoint runs one untimed pod
// first.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// goal is issue 15's target for pier over containerd, for both measures.
const goal = 0.5

type target struct {
	name, endpoint string
	rt             runtimeapi.RuntimeServiceClient
	is             runtimeapi.ImageServiceClient
	conn           *grpc.ClientConn
	starts, execs  []time.Duration
}

func main() {
	ep := flag.String("endpoint", "unix:///run/pier/cri.sock", "CRI endpoint (without -compare)")
	compare := flag.String("compare", "", "NAME=ENDPOINT,NAME=ENDPOINT...: alternate between these; ratios are the first over the second")
	n := flag.Int("n", 10, "timed pods per endpoint")
	execs := flag.Int("execs", 5, "ExecSync calls per pod")
	img := flag.String("image", "registry.k8s.io/e2e-test-images/busybox:1.29-2", "image")
	jsonOut := flag.String("json", "", "write the medians and samples here")
	verbose := flag.Bool("v", false, "print every sample")
	flag.Parse()
	targets, err := parseTargets(*compare, *ep)
	if err == nil {
		err = run(targets, *img, *n, *execs, *verbose, *jsonOut)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(1)
	}
}

func parseTargets(compare, ep string) ([]*target, error) {
	if compare == "" {
		return []*target{{name: "endpoint", endpoint: ep}}, nil
	}
	var ts []*target
	for _, kv := range strings.Split(compare, ",") {
		name, e, ok := strings.Cut(kv, "=")
		if !ok || name == "" || e == "" {
			return nil, fmt.Errorf("-compare: %q is not NAME=ENDPOINT", kv)
		}
		ts = append(ts, &target{name: name, endpoint: e})
	}
	if len(ts) < 2 {
		return nil, fmt.Errorf("-compare needs two endpoints, got %d", len(ts))
	}
	return ts, nil
}

func run(targets []*target, img string, n, execs int, verbose bool, jsonOut string) error {
	ctx := context.Background()
	logs, err := os.MkdirTemp("", "cri-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(logs)
	for _, t := range targets {
		if t.conn, err = grpc.NewClient(t.endpoint, grpc.WithTransportCredentials(insecure.NewCredentials())); err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
		defer t.conn.Close()
		t.rt, t.is = runtimeapi.NewRuntimeServiceClient(t.conn), runtimeapi.NewImageServiceClient(t.conn)
		if _, err := t.is.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: img}}); err != nil {
			return fmt.Errorf("%s: pull %s: %w", t.name, img, err)
		}
		if _, _, err := pod(ctx, t, img, logs, "warmup", execs); err != nil {
			return fmt.Errorf("%s: warm-up pod: %w", t.name, err)
		}
	}
	for i := 0; i < n; i++ {
		order := append([]*target(nil), targets...)
		if i%2 == 1 {
			for l, r := 0, len(order)-1; l < r; l, r = l+1, r-1 {
				order[l], order[r] = order[r], order[l]
			}
		}
		for _, t := range order {
			s, e, err := pod(ctx, t, img, logs, fmt.Sprint(i), execs)
			if err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
			t.starts, t.execs = append(t.starts, s), append(t.execs, e...)
		}
	}
	report(targets, verbose)
	if jsonOut != "" {
		return writeJSON(jsonOut, targets, img, n, execs)
	}
	return nil
}

// pod times one pod's start and its ExecSyncs, then removes the pod.
func pod(ctx context.Context, t *target, img, logs, tag string, execs int) (time.Duration, []time.Duration, error) {
	cfg := &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: "bench-" + tag, Namespace: "bench", Uid: fmt.Sprintf("bench-%s-%d", tag, os.Getpid())},
		LogDirectory: logs, Linux: &runtimeapi.LinuxPodSandboxConfig{},
	}
	ctr := &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "c"}, Image: &runtimeapi.ImageSpec{Image: img},
		Command: []string{"sleep", "3600"}, Linux: &runtimeapi.LinuxContainerConfig{},
	}
	t0 := time.Now()
	p, err := t.rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: cfg})
	if err != nil {
		return 0, nil, fmt.Errorf("RunPodSandbox: %w", err)
	}
	defer cleanup(ctx, t.rt, p.PodSandboxId)
	c, err := t.rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: p.PodSandboxId, Config: ctr, SandboxConfig: cfg})
	if err == nil {
		_, err = t.rt.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: c.ContainerId})
	}
	if err != nil {
		return 0, nil, fmt.Errorf("create/start: %w", err)
	}
	start := time.Since(t0)
	var ex []time.Duration
	for j := 0; j < execs; j++ {
		t0 = time.Now()
		r, err := t.rt.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: c.ContainerId, Cmd: []string{"true"}, Timeout: 10})
		if err != nil || r.ExitCode != 0 {
			return 0, nil, fmt.Errorf("ExecSync: %v (exit %d)", err, r.GetExitCode())
		}
		ex = append(ex, time.Since(t0))
	}
	return start, ex, nil
}

func report(targets []*target, verbose bool) {
	for _, t := range targets {
		if verbose {
			fmt.Printf("%s pod start samples: %v\n%s ExecSync samples: %v\n", t.name, t.starts, t.name, t.execs)
		}
		fmt.Printf("%s: pod start (RunPodSandbox+CreateContainer+StartContainer) median: %.1f ms (%d)\n", t.name, median(t.starts), len(t.starts))
		fmt.Printf("%s: ExecSync (true) median: %.1f ms (%d)\n", t.name, median(t.execs), len(t.execs))
	}
	if len(targets) < 2 {
		return
	}
	a, b := targets[0], targets[1]
	for _, m := range []struct {
		what   string
		ra, rb []time.Duration
	}{{"pod start", a.starts, b.starts}, {"ExecSync", a.execs, b.execs}} {
		r := median(m.ra) / median(m.rb)
		verdict := "met"
		if r > goal {
			verdict = "NOT met"
		}
		fmt.Printf("%s %s/%s: %.2fx (goal <= %.1fx: %s)\n", m.what, a.name, b.name, r, goal, verdict)
	}
}

func writeJSON(path string, targets []*target, img string, n, execs int) error {
	type side struct {
		PodStartMedianMS float64   `json:"pod_start_median_ms"`
		ExecSyncMedianMS float64   `json:"exec_sync_median_ms"`
		PodStartMS       []float64 `json:"pod_start_ms"`
		ExecSyncMS       []float64 `json:"exec_sync_ms"`
	}
	out := map[string]any{"image": img, "pods": n, "execs_per_pod": execs, "goal": goal}
	sides := map[string]side{}
	for _, t := range targets {
		sides[t.name] = side{median(t.starts), median(t.execs), ms(t.starts), ms(t.execs)}
	}
	out["endpoints"] = sides
	if len(targets) >= 2 {
		a, b := targets[0], targets[1]
		out["ratio"] = map[string]float64{
			"pod_start": round3(median(a.starts) / median(b.starts)),
			"exec_sync": round3(median(a.execs) / median(b.execs)),
		}
		out["ratio_of"] = a.name + "/" + b.name
	}
	bs, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(bs, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func cleanup(ctx context.Context, rt runtimeapi.RuntimeServiceClient, id string) {
	_, _ = rt.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: id})
	_, _ = rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: id})
}

func ms(d []time.Duration) []float64 {
	f := make([]float64, len(d))
	for i, x := range d {
		f[i] = float64(x.Microseconds()) / 1000
	}
	return f
}

func round3(f float64) float64 { return float64(int64(f*1000+0.5)) / 1000 }

func median(d []time.Duration) float64 {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s) == 0 {
		return 0
	}
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return float64(m.Microseconds()) / 1000
}
