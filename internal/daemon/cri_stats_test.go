package daemon

import (
	"context"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/pier-engine/pier/internal/daemon/pod"
)

func TestFillCRIUsage(t *testing.T) {
	var s container.StatsResponse
	s.CPUStats.CPUUsage.TotalUsage = 5e9
	s.MemoryStats = container.MemoryStats{Usage: 100 << 20, Limit: 512 << 20, Stats: map[string]uint64{
		"total_inactive_file": 30 << 20, "total_rss": 50 << 20, "total_pgfault": 7, "total_pgmajfault": 2,
	}}
	cpu, mem := &runtimeapi.CpuUsage{}, &runtimeapi.MemoryUsage{}
	fillCRIUsage(cpu, mem, s, 123)
	if cpu.GetUsageCoreNanoSeconds().GetValue() != 5e9 || cpu.GetUsageNanoCores().GetValue() != 123 {
		t.Errorf("cpu %v", cpu)
	}
	if mem.GetWorkingSetBytes().GetValue() != 70<<20 || mem.GetUsageBytes().GetValue() != 100<<20 ||
		mem.GetRssBytes().GetValue() != 50<<20 || mem.GetAvailableBytes().GetValue() != (512-70)<<20 ||
		mem.GetPageFaults().GetValue() != 7 || mem.GetMajorPageFaults().GetValue() != 2 {
		t.Errorf("memory %v", mem)
	}
	// cgroup v2 names; more inactive file pages than usage clamps to 0
	s.MemoryStats = container.MemoryStats{Usage: 10, Stats: map[string]uint64{"inactive_file": 20, "anon": 4}}
	fillCRIUsage(cpu, mem, s, 0)
	if mem.GetWorkingSetBytes().GetValue() != 0 || mem.GetRssBytes().GetValue() != 4 {
		t.Errorf("v2 memory %v", mem)
	}
}

func TestCPURates(t *testing.T) {
	var r cpuRates
	t0 := time.Unix(100, 0)
	if got := r.nanoCores("a", t0, 1e9); got != 0 {
		t.Errorf("first reading: %d, want 0", got)
	}
	if got := r.nanoCores("a", t0.Add(2*time.Second), 2e9); got != 5e8 {
		t.Errorf("1 s of cpu in 2 s: %d, want 5e8 (half a core)", got)
	}
	if got := r.nanoCores("b", t0.Add(2*time.Second), 2e9); got != 0 {
		t.Errorf("another container's first reading: %d", got)
	}
	r.forget("a")
	if got := r.nanoCores("a", t0.Add(3*time.Second), 3e9); got != 0 {
		t.Errorf("after forget: %d, want 0", got)
	}
}

func TestPodUsageAndNetwork(t *testing.T) {
	ls := &runtimeapi.LinuxPodSandboxStats{
		Cpu:    &runtimeapi.CpuUsage{UsageCoreNanoSeconds: &runtimeapi.UInt64Value{}, UsageNanoCores: &runtimeapi.UInt64Value{}},
		Memory: &runtimeapi.MemoryUsage{WorkingSetBytes: &runtimeapi.UInt64Value{}, UsageBytes: &runtimeapi.UInt64Value{}, RssBytes: &runtimeapi.UInt64Value{}, PageFaults: &runtimeapi.UInt64Value{}, MajorPageFaults: &runtimeapi.UInt64Value{}},
	}
	for _, v := range []uint64{10, 32} {
		addPodUsage(ls, &runtimeapi.ContainerStats{
			Cpu:    &runtimeapi.CpuUsage{UsageCoreNanoSeconds: &runtimeapi.UInt64Value{Value: v}},
			Memory: &runtimeapi.MemoryUsage{WorkingSetBytes: &runtimeapi.UInt64Value{Value: v * 2}},
		})
	}
	addPodUsage(ls, &runtimeapi.ContainerStats{}) // a container that does not run
	if ls.Cpu.UsageCoreNanoSeconds.Value != 42 || ls.Memory.WorkingSetBytes.Value != 84 {
		t.Errorf("pod sums: cpu %d, working set %d; want 42, 84", ls.Cpu.UsageCoreNanoSeconds.Value, ls.Memory.WorkingSetBytes.Value)
	}
	nu := networkUsage(1, map[string]container.NetworkStats{
		"eth1": {RxBytes: 1}, "eth0": {RxBytes: 100, TxBytes: 200, RxErrors: 1, TxErrors: 2},
	})
	d := nu.GetDefaultInterface()
	if d.GetName() != "eth0" || d.GetRxBytes().GetValue() != 100 || d.GetTxBytes().GetValue() != 200 || d.GetTxErrors().GetValue() != 2 || len(nu.GetInterfaces()) != 2 {
		t.Errorf("network usage %v", nu)
	}
}

func TestUsePodShm(t *testing.T) {
	spec := &specs.Spec{Mounts: []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc"},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"size=65536k"}},
	}}
	usePodShm(spec, "/var/lib/pier/cri/pods/p/shm")
	if m := spec.Mounts[1]; m.Type != "bind" || m.Source != "/var/lib/pier/cri/pods/p/shm" || m.Destination != "/dev/shm" {
		t.Errorf("/dev/shm: %+v, want a bind of the pod's", m)
	}
	user := &specs.Spec{Mounts: []specs.Mount{{Destination: "/dev/shm", Type: "bind", Source: "/var/lib/kubelet/x"}}}
	usePodShm(user, "/pod/shm")
	if user.Mounts[0].Source != "/var/lib/kubelet/x" {
		t.Errorf("the kubelet's own /dev/shm volume was replaced: %+v", user.Mounts[0])
	}
	host := &specs.Spec{Mounts: []specs.Mount{{Destination: "/dev/shm", Type: "tmpfs", Source: "shm"}}}
	usePodShm(host, "")
	if host.Mounts[0].Type != "tmpfs" {
		t.Errorf("no pod shm (hostIPC): %+v", host.Mounts[0])
	}
}

// The CRI's container events come from the engine's bus: only the CRI's
// containers, only the four lifecycle actions, with the pod's status.
func TestCRIContainerEvents(t *testing.T) {
	d, _ := fakeDaemon(t)
	c, err := d.NewCRI(CRIConfig{CNIConfDir: t.TempDir(), CNIBinDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	cfg := &runtimeapi.PodSandboxConfig{Metadata: &runtimeapi.PodSandboxMetadata{Name: "p", Uid: "u", Namespace: "n"}}
	if err := d.md.Create(pod.Kind, "pod1", &pod.Sandbox{ID: "pod1", Config: cfg, Ready: true}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan *runtimeapi.ContainerEventResponse, 10)
	done := make(chan error, 1)
	go func() {
		done <- c.ContainerEvents(ctx, func(e *runtimeapi.ContainerEventResponse) error { got <- e; return nil })
	}()
	cri := containerRecord{ID: "c1", Config: &container.Config{Labels: map[string]string{criLabel: "pod1"}}}
	docker := containerRecord{ID: "d1", Config: &container.Config{}}
	// the subscription starts in the goroutine: publish until the first
	// event arrives, then the rest
	var first *runtimeapi.ContainerEventResponse
	for first == nil {
		d.emitContainer(docker, events.ActionCreate)
		d.emitContainer(cri, events.ActionCreate)
		select {
		case first = <-got:
		case <-time.After(10 * time.Millisecond):
		}
	}
	for len(got) > 0 {
		<-got // more creates from the retries
	}
	for _, a := range []events.Action{events.ActionStart, events.ActionKill, events.ActionDie, events.ActionDestroy} {
		d.emitContainer(docker, a)
		d.emitContainer(cri, a)
	}
	want := []runtimeapi.ContainerEventType{runtimeapi.ContainerEventType_CONTAINER_STARTED_EVENT,
		runtimeapi.ContainerEventType_CONTAINER_STOPPED_EVENT, runtimeapi.ContainerEventType_CONTAINER_DELETED_EVENT}
	if first.GetContainerEventType() != runtimeapi.ContainerEventType_CONTAINER_CREATED_EVENT || first.GetContainerId() != "c1" {
		t.Errorf("first event %v, want c1 created", first)
	}
	for _, w := range want {
		select {
		case e := <-got:
			if e.GetContainerId() != "c1" || e.GetContainerEventType() != w || e.GetPodSandboxStatus().GetId() != "pod1" || e.GetCreatedAt() == 0 {
				t.Errorf("event %v, want c1 %v with pod1's status", e, w)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no %v event", w)
		}
	}
	select {
	case e := <-got:
		t.Errorf("unexpected event %v", e)
	default:
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("ContainerEvents after cancel: %v", err)
	}
}
