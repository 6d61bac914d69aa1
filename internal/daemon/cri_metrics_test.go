package daemon

import (
	"math"
	"os"
	"testing"

	"github.com/pier-engine/pier/internal/cgroups"
)

func TestCgroupValues(t *testing.T) {
	st := &cgroups.Stats{
		CPU:     cgroups.CPUStats{UsageNS: 3e9, UserNS: 2e9, SystemNS: 1e9, Periods: 7, ThrottledPeriods: 2, ThrottledNS: 5e9},
		Memory:  cgroups.MemoryStats{Usage: 100, MaxUsage: 150, Stat: map[string]uint64{"total_inactive_file": 30, "total_rss": 40, "total_cache": 50, "total_pgfault": 9}},
		Pids:    cgroups.PidsStats{Current: 3, Limit: math.MaxUint64},
		IO:      []cgroups.IOEntry{{Op: "read", Value: 10}, {Op: "write", Value: 20}, {Op: "rios", Value: 1}},
		OOMKill: 1,
	}
	v := cgroupValues(st)
	for name, want := range map[string]uint64{
		"container_cpu_usage_seconds_total": 3, "container_cpu_cfs_throttled_seconds_total": 5, "container_cpu_cfs_periods_total": 7,
		"container_memory_working_set_bytes": 70, "container_memory_rss": 40, "container_memory_cache": 50,
		"container_memory_failures_total": 9, "container_oom_events_total": 1, "container_processes": 3,
		"container_threads_max": 0, "container_fs_reads_bytes_total": 10, "container_fs_writes_bytes_total": 20,
		"container_fs_reads_total": 1, "container_blkio_device_usage_total": 30,
	} {
		if v[name] != want {
			t.Errorf("%s = %d, want %d", name, v[name], want)
		}
	}
}

// Every metric produced has a descriptor with as many labels as it has
// values (critest and the kubelet pair them by name).
func TestMetricDescriptorsCover(t *testing.T) {
	c := &CRI{}
	seen := map[string]int{}
	for _, d := range c.MetricDescriptors() {
		if d.GetHelp() == "" || len(d.GetLabelKeys()) == 0 {
			t.Errorf("%s: help or labels missing", d.GetName())
		}
		seen[d.GetName()]++
	}
	for _, m := range append(append([]criMetric{}, containerMetrics...), networkMetrics...) {
		if seen[m.name] != 1 {
			t.Errorf("%s: %d descriptors", m.name, seen[m.name])
		}
	}
	if threads, fds, _ := procCounts([]int{os.Getpid()}); threads == 0 || fds == 0 {
		t.Errorf("this process: %d threads, %d descriptors", threads, fds)
	}
}
