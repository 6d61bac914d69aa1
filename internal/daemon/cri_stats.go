package daemon

import (
	"context"
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
	return c.statsOf(ctx, rec, r), nil
}

func (c *CRI) statsOf(ctx context.Context, rec *pod.Container, r containerRecord) *runtimeapi.ContainerStats {
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
	if r.State != container.StateRunning {
		return st
	}
	_ = c.d.ContainerStats(ctx, rec.ID, false, func(s container.StatsResponse) error {
		st.Cpu.UsageCoreNanoSeconds.Value = s.CPUStats.CPUUsage.TotalUsage
		st.Memory.WorkingSetBytes.Value = s.MemoryStats.Usage
		st.Memory.UsageBytes = &runtimeapi.UInt64Value{Value: s.MemoryStats.Usage}
		return nil
	})
	return st
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
			out = append(out, c.statsOf(ctx, rec, r))
		}
	}
	return out, nil
}

// PodSandboxStats sums nothing yet: it lists the pod's containers' stats.
func (c *CRI) PodSandboxStats(ctx context.Context, id string) (*runtimeapi.PodSandboxStats, error) {
	s, err := c.sandbox(id)
	if err != nil {
		return nil, err
	}
	cs, err := c.ListContainerStats(ctx, &runtimeapi.ContainerStatsFilter{PodSandboxId: s.ID})
	if err != nil {
		return nil, err
	}
	now := time.Now().UnixNano()
	return &runtimeapi.PodSandboxStats{
		Attributes: &runtimeapi.PodSandboxAttributes{Id: s.ID, Metadata: s.Config.GetMetadata(), Labels: s.Config.GetLabels(), Annotations: s.Config.GetAnnotations()},
		Linux: &runtimeapi.LinuxPodSandboxStats{
			Cpu: &runtimeapi.CpuUsage{Timestamp: now}, Memory: &runtimeapi.MemoryUsage{Timestamp: now},
			Containers: cs,
		},
	}, nil
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
