// Command client times the CRI calls of a busybox pod against one endpoint,
// without a crictl process start in each measurement: RunPodSandbox +
// CreateContainer + StartContainer (pod start), and ExecSync of `true`.
// It prints the medians in ms and, with -v, every sample.
//
//	go run ./bench/cri/client -endpoint unix:///run/pier/cri.sock -n 20
//
// The image must already be pullable (bench/cri/run.sh pulls it first).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func main() {
	ep := flag.String("endpoint", "unix:///run/pier/cri.sock", "CRI endpoint")
	n := flag.Int("n", 10, "pods")
	execs := flag.Int("execs", 5, "ExecSync calls per pod")
	img := flag.String("image", "registry.k8s.io/e2e-test-images/busybox:1.29-2", "image")
	verbose := flag.Bool("v", false, "print every sample")
	flag.Parse()
	if err := run(*ep, *img, *n, *execs, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(1)
	}
}

func run(ep, img string, n, execs int, verbose bool) error {
	conn, err := grpc.NewClient(ep, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	rt, is := runtimeapi.NewRuntimeServiceClient(conn), runtimeapi.NewImageServiceClient(conn)
	ctx := context.Background()
	if _, err := is.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: img}}); err != nil {
		return fmt.Errorf("pull %s: %w", img, err)
	}
	logs, err := os.MkdirTemp("", "cri-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(logs)
	var starts, execTimes []time.Duration
	for i := 0; i < n; i++ {
		pod := &runtimeapi.PodSandboxConfig{
			Metadata:     &runtimeapi.PodSandboxMetadata{Name: fmt.Sprintf("bench-%d", i), Namespace: "bench", Uid: fmt.Sprintf("bench-%d-%d", i, os.Getpid())},
			LogDirectory: logs, Linux: &runtimeapi.LinuxPodSandboxConfig{},
		}
		ctr := &runtimeapi.ContainerConfig{
			Metadata: &runtimeapi.ContainerMetadata{Name: "c"}, Image: &runtimeapi.ImageSpec{Image: img},
			Command: []string{"sleep", "3600"}, Linux: &runtimeapi.LinuxContainerConfig{},
		}
		t := time.Now()
		p, err := rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: pod})
		if err != nil {
			return fmt.Errorf("RunPodSandbox: %w", err)
		}
		c, err := rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: p.PodSandboxId, Config: ctr, SandboxConfig: pod})
		if err == nil {
			_, err = rt.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: c.ContainerId})
		}
		if err != nil {
			cleanup(ctx, rt, p.PodSandboxId)
			return fmt.Errorf("create/start: %w", err)
		}
		starts = append(starts, time.Since(t))
		for j := 0; j < execs; j++ {
			t = time.Now()
			r, err := rt.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: c.ContainerId, Cmd: []string{"true"}, Timeout: 10})
			if err != nil || r.ExitCode != 0 {
				cleanup(ctx, rt, p.PodSandboxId)
				return fmt.Errorf("ExecSync: %v (exit %d)", err, r.GetExitCode())
			}
			execTimes = append(execTimes, time.Since(t))
		}
		cleanup(ctx, rt, p.PodSandboxId)
	}
	if verbose {
		fmt.Println("pod start samples:", starts)
		fmt.Println("ExecSync samples:", execTimes)
	}
	fmt.Printf("pod start (RunPodSandbox+CreateContainer+StartContainer) median: %.1f ms (%d)\n", median(starts), len(starts))
	fmt.Printf("ExecSync (true) median: %.1f ms (%d)\n", median(execTimes), len(execTimes))
	return nil
}

func cleanup(ctx context.Context, rt runtimeapi.RuntimeServiceClient, id string) {
	_, _ = rt.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: id})
	_, _ = rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: id})
}

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
