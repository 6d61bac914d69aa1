package daemon

import (
	"math"
	"slices"
	"testing"

	"github.com/moby/moby/api/types/container"

	"github.com/pier-engine/pier/internal/cgroups"
	"github.com/pier-engine/pier/internal/ociruntime"
)

func TestUpdateArgs(t *testing.T) {
	pids := int64(7)
	got := updateResources(container.Resources{Memory: 64 << 20, MemorySwap: 64 << 20, NanoCPUs: 1.5e9, CPUQuota: 5, PidsLimit: &pids}).Flags()
	want := []string{"--memory", "67108864", "--memory-swap", "67108864", "--cpu-period", "100000", "--cpu-quota", "150000", "--pids-limit", "7"}
	if !slices.Equal(got, want) {
		t.Errorf("update flags = %v, want %v", got, want)
	}
	if got := updateResources(container.Resources{}); got != (ociruntime.Resources{}) {
		t.Errorf("update of nothing = %+v", got)
	}
	var hc container.Resources
	mergeResources(&hc, container.Resources{Memory: 5, PidsLimit: &pids})
	if hc.Memory != 5 || hc.PidsLimit == nil || *hc.PidsLimit != 7 {
		t.Errorf("merged = %+v", hc)
	}
}

func TestFillStats(t *testing.T) {
	var resp container.StatsResponse
	fillStats(&resp, &cgroups.Stats{
		CPU:    cgroups.CPUStats{UsageNS: 42},
		Memory: cgroups.MemoryStats{Usage: 1000, Limit: 67108864},
		Pids:   cgroups.PidsStats{Current: 2, Limit: math.MaxUint64},
	})
	if resp.CPUStats.CPUUsage.TotalUsage != 42 || resp.MemoryStats.Limit != 67108864 || resp.PidsStats.Current != 2 || resp.PidsStats.Limit != 0 || resp.CPUStats.OnlineCPUs == 0 {
		t.Errorf("filled %+v", resp)
	}
	fillStats(&resp, &cgroups.Stats{Memory: cgroups.MemoryStats{Limit: math.MaxUint64}})
	if resp.MemoryStats.Limit == 0 || resp.MemoryStats.Limit == math.MaxUint64 {
		t.Errorf("unlimited memory reads as %d, want the host's", resp.MemoryStats.Limit)
	}
	if n, err := systemCPUUsage(); err != nil || n == 0 {
		t.Errorf("systemCPUUsage = %d, %v", n, err)
	}
}
