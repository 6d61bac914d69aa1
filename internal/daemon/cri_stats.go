package daemon

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/pier-engine/pier/internal/daemon/pod"
)

// ContainerStats is one snapshot of the container's cgroup usage.
func (c *CRI) ContainerStats(ctx context.Context, id string) (*runtimeapi.ContainerStats, error) {
	rec, r, err := c.criContainer(id)
	if err != nil {
		return nil, err
	}
	st, _ := c.statsOf(ctx, rec, r)
	return st, nil
}

// runExtra is what a running container's stats add for its pod: the
// network counters of its namespace (the pod's) and its process count.
type runExtra struct {
	nets  map[string]container.NetworkStats
	procs uint64
}

// statsOf is the container's CRI stats, and what it adds to its pod's.
func (c *CRI) statsOf(ctx context.Context, rec *pod.Container, r containerRecord) (*runtimeapi.ContainerStats, runExtra) {
	now := time.Now().UnixNano()
	st := &runtimeapi.ContainerStats{
		Attributes: &runtimeapi.ContainerAttributes{Id: rec.ID, Metadata: rec.Metadata, Labels: rec.Labels, Annotations: rec.Annotations},
		Cpu:        &runtimeapi.CpuUsage{Timestamp: now, UsageCoreNanoSeconds: &runtimeapi.UInt64Value{}},
		Memory:     &runtimeapi.MemoryUsage{Timestamp: now, WorkingSetBytes: &runtimeapi.UInt64Value{}},
		WritableLayer: &runtimeapi.FilesystemUsage{
			Timestamp: now, FsId: &runtimeapi.FilesystemIdentifier{Mountpoint: c.d.paths(rec.ID).rootfs},
			UsedBytes: &runtimeapi.UInt64Value{}, InodesUsed: &runtimeapi.UInt64Value{},
		},
	}
	var x runExtra
	if r.State != container.StateRunning {
		return st, x
	}
	_ = c.d.ContainerStats(ctx, rec.ID, false, func(s container.StatsResponse) error {
		fillCRIUsage(st.Cpu, st.Memory, s, c.rates.nanoCores(rec.ID, s.Read, s.CPUStats.CPUUsage.TotalUsage))
		st.Swap = &runtimeapi.SwapUsage{Timestamp: now, SwapUsageBytes: &runtimeapi.UInt64Value{Value: s.MemoryStats.Stats["swap"]}}
		x.nets, x.procs = s.Networks, s.PidsStats.Current
		return nil
	})
	return st, x
}

// fillCRIUsage maps one engine stats snapshot onto the CRI's cpu and
// memory usage. The working set is usage less inactive file pages, as
// cAdvisor and the kubelet's eviction reckon it.
func fillCRIUsage(cpu *runtimeapi.CpuUsage, mem *runtimeapi.MemoryUsage, s container.StatsResponse, nanoCores uint64) {
	cpu.UsageCoreNanoSeconds = &runtimeapi.UInt64Value{Value: s.CPUStats.CPUUsage.TotalUsage}
	cpu.UsageNanoCores = &runtimeapi.UInt64Value{Value: nanoCores}
	ms := s.MemoryStats
	inactive := ms.Stats["total_inactive_file"]
	if v, ok := ms.Stats["inactive_file"]; ok && inactive == 0 {
		inactive = v
	}
	ws := ms.Usage
	if inactive < ws {
		ws -= inactive
	} else {
		ws = 0
	}
	rss := ms.Stats["total_rss"]
	if rss == 0 {
		rss = ms.Stats["anon"] + ms.Stats["rss"]
	}
	mem.WorkingSetBytes = &runtimeapi.UInt64Value{Value: ws}
	mem.UsageBytes = &runtimeapi.UInt64Value{Value: ms.Usage}
	mem.RssBytes = &runtimeapi.UInt64Value{Value: rss}
	mem.PageFaults = &runtimeapi.UInt64Value{Value: firstStat(ms.Stats, "total_pgfault", "pgfault")}
	mem.MajorPageFaults = &runtimeapi.UInt64Value{Value: firstStat(ms.Stats, "total_pgmajfault", "pgmajfault")}
	if ms.Limit > ws {
		mem.AvailableBytes = &runtimeapi.UInt64Value{Value: ms.Limit - ws}
	}
}

func firstStat(m map[string]uint64, keys ...string) uint64 {
	for _, k := range keys {
		if v, ok := m[k]; ok {
			return v
		}
	}
	return 0
}

// cpuRates remembers each container's last cpu reading, so that a stats
// call can report a rate (UsageNanoCores), which the kubelet's summary
// wants, from two readings as containerd does.
type cpuRates struct {
	mu   sync.Mutex
	last map[string]cpuReading // Guarded by mu.
}

type cpuReading struct {
	at    time.Time
	usage uint64
}

// nanoCores is the cpu used per second since id's last reading, in
// nanoseconds of cpu (1e9 = one core); 0 at the first reading.
func (r *cpuRates) nanoCores(id string, at time.Time, usage uint64) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.last == nil {
		r.last = map[string]cpuReading{}
	}
	prev, ok := r.last[id]
	r.last[id] = cpuReading{at: at, usage: usage}
	dt := at.Sub(prev.at)
	if !ok || dt <= 0 || usage < prev.usage {
		return 0
	}
	return uint64(float64(usage-prev.usage) / dt.Seconds())
}

// forget drops the readings of containers that are gone.
func (r *cpuRates) forget(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.last, id)
}

// ListContainerStats is ContainerStats of the containers f selects.
func (c *CRI) ListContainerStats(ctx context.Context, f *runtimeapi.ContainerStatsFilter) ([]*runtimeapi.ContainerStats, error) {
	cf := &runtimeapi.ContainerFilter{Id: f.GetId(), PodSandboxId: f.GetPodSandboxId(), LabelSelector: f.GetLabelSelector()}
	cs, err := c.ListContainers(ctx, cf)
	if err != nil {
		return nil, err
	}
	out := []*runtimeapi.ContainerStats{}
	for _, ct := range cs {
		if rec, r, err := c.criContainer(ct.Id); err == nil {
			st, _ := c.statsOf(ctx, rec, r)
			out = append(out, st)
		}
	}
	return out, nil
}

// PodSandboxStats sums the pod's containers' cpu, memory and processes,
// lists their stats, and reads the pod's network counters from the
// namespace its running containers share (none while none runs).
func (c *CRI) PodSandboxStats(ctx context.Context, id string) (*runtimeapi.PodSandboxStats, error) {
	s, err := c.sandbox(id)
	if err != nil {
		return nil, err
	}
	now := time.Now().UnixNano()
	ls := &runtimeapi.LinuxPodSandboxStats{
		Cpu:        &runtimeapi.CpuUsage{Timestamp: now, UsageCoreNanoSeconds: &runtimeapi.UInt64Value{}, UsageNanoCores: &runtimeapi.UInt64Value{}},
		Memory:     &runtimeapi.MemoryUsage{Timestamp: now, WorkingSetBytes: &runtimeapi.UInt64Value{}, UsageBytes: &runtimeapi.UInt64Value{}, RssBytes: &runtimeapi.UInt64Value{}, PageFaults: &runtimeapi.UInt64Value{}, MajorPageFaults: &runtimeapi.UInt64Value{}},
		Process:    &runtimeapi.ProcessUsage{Timestamp: now, ProcessCount: &runtimeapi.UInt64Value{}},
		Containers: []*runtimeapi.ContainerStats{},
	}
	var nets map[string]container.NetworkStats
	for _, rec := range c.podContainers(s.ID) {
		var r containerRecord
		if err := c.d.md.Get(containerKind, rec.ID, &r); err != nil {
			continue
		}
		st, x := c.statsOf(ctx, rec, r)
		ls.Containers = append(ls.Containers, st)
		addPodUsage(ls, st)
		ls.Process.ProcessCount.Value += x.procs
		if nets == nil && len(x.nets) > 0 {
			nets = x.nets
		}
	}
	if !s.HostNetwork() && nets != nil {
		ls.Network = networkUsage(now, nets)
	}
	return &runtimeapi.PodSandboxStats{
		Attributes: &runtimeapi.PodSandboxAttributes{Id: s.ID, Metadata: s.Config.GetMetadata(), Labels: s.Config.GetLabels(), Annotations: s.Config.GetAnnotations()},
		Linux:      ls,
	}, nil
}

// addPodUsage adds a container's usage to the pod's sums.
func addPodUsage(ls *runtimeapi.LinuxPodSandboxStats, st *runtimeapi.ContainerStats) {
	ls.Cpu.UsageCoreNanoSeconds.Value += st.GetCpu().GetUsageCoreNanoSeconds().GetValue()
	ls.Cpu.UsageNanoCores.Value += st.GetCpu().GetUsageNanoCores().GetValue()
	m := st.GetMemory()
	ls.Memory.WorkingSetBytes.Value += m.GetWorkingSetBytes().GetValue()
	ls.Memory.UsageBytes.Value += m.GetUsageBytes().GetValue()
	ls.Memory.RssBytes.Value += m.GetRssBytes().GetValue()
	ls.Memory.PageFaults.Value += m.GetPageFaults().GetValue()
	ls.Memory.MajorPageFaults.Value += m.GetMajorPageFaults().GetValue()
}

// networkUsage is the CRI's view of the pod's interfaces; eth0, the CNI's
// interface, is the default one.
func networkUsage(now int64, nets map[string]container.NetworkStats) *runtimeapi.NetworkUsage {
	nu := &runtimeapi.NetworkUsage{Timestamp: now}
	names := make([]string, 0, len(nets))
	for n := range nets {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		v := nets[n]
		iu := &runtimeapi.NetworkInterfaceUsage{
			Name: n, RxBytes: &runtimeapi.UInt64Value{Value: v.RxBytes}, RxErrors: &runtimeapi.UInt64Value{Value: v.RxErrors},
			TxBytes: &runtimeapi.UInt64Value{Value: v.TxBytes}, TxErrors: &runtimeapi.UInt64Value{Value: v.TxErrors},
		}
		if n == "eth0" || nu.DefaultInterface == nil {
			nu.DefaultInterface = iu
		}
		nu.Interfaces = append(nu.Interfaces, iu)
	}
	return nu
}

// ListPodSandboxStats is PodSandboxStats of the pods f selects.
func (c *CRI) ListPodSandboxStats(ctx context.Context, f *runtimeapi.PodSandboxStatsFilter) ([]*runtimeapi.PodSandboxStats, error) {
	pods, err := c.ListPodSandbox(ctx, &runtimeapi.PodSandboxFilter{Id: f.GetId(), LabelSelector: f.GetLabelSelector()})
	if err != nil {
		return nil, err
	}
	out := []*runtimeapi.PodSandboxStats{}
	for _, p := range pods {
		if st, err := c.PodSandboxStats(ctx, p.Id); err == nil {
			out = append(out, st)
		}
	}
	return out, nil
}
