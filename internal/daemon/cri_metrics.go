package daemon

import (
	"context"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/pier-engine/pier/internal/cgroups"
	"github.com/pier-engine/pier/internal/daemon/pod"
	"github.com/pier-engine/pier/internal/sys"
)

// The CRI metrics (ListMetricDescriptors, ListPodSandboxMetrics): the
// cAdvisor names the kubelet's /metrics/cadvisor serves, each with the
// same labels (the network ones also name the interface), from the
// container's cgroup, its processes in /proc, its writable layer and its
// config. The hugetlb, pressure, cpu quota, memory reservation and ulimit
// metrics are not produced (critest lists them as not implemented by
// runtimes yet).

var (
	metricLabels    = []string{"container", "id", "image", "name"}
	netMetricLabels = append(append([]string{}, metricLabels...), "interface")
)

type criMetric struct {
	name, help string
	gauge      bool
}

var containerMetrics = []criMetric{
	{"container_cpu_usage_seconds_total", "Cumulative cpu time consumed in seconds.", false},
	{"container_cpu_user_seconds_total", "Cumulative user cpu time consumed in seconds.", false},
	{"container_cpu_system_seconds_total", "Cumulative system cpu time consumed in seconds.", false},
	{"container_cpu_cfs_periods_total", "Number of elapsed enforcement period intervals.", false},
	{"container_cpu_cfs_throttled_periods_total", "Number of throttled period intervals.", false},
	{"container_cpu_cfs_throttled_seconds_total", "Total time duration the container has been throttled.", false},
	{"container_memory_cache", "Number of bytes of page cache memory.", true},
	{"container_memory_rss", "Size of RSS in bytes.", true},
	{"container_memory_mapped_file", "Size of memory mapped files in bytes.", true},
	{"container_memory_swap", "Container swap usage in bytes.", true},
	{"container_memory_usage_bytes", "Current memory usage in bytes, including all memory regardless of when it was accessed.", true},
	{"container_memory_max_usage_bytes", "Maximum memory usage recorded in bytes.", true},
	{"container_memory_working_set_bytes", "Current working set in bytes.", true},
	{"container_memory_failcnt", "Number of memory usage hits limits.", false},
	{"container_memory_failures_total", "Cumulative count of memory allocation failures (page faults).", false},
	{"container_memory_kernel_usage", "Size of kernel memory allocated in bytes.", true},
	{"container_oom_events_total", "Count of out of memory events observed for the container.", false},
	{"container_processes", "Number of processes running inside the container.", true},
	{"container_threads", "Number of threads running inside the container.", true},
	{"container_threads_max", "Maximum number of threads allowed inside the container, 0 for unlimited.", true},
	{"container_file_descriptors", "Number of open file descriptors for the container.", true},
	{"container_sockets", "Number of open sockets for the container.", true},
	{"container_fs_usage_bytes", "Number of bytes consumed by the container's writable layer.", true},
	{"container_fs_limit_bytes", "Number of bytes the container's writable layer's filesystem can hold.", true},
	{"container_fs_inodes_total", "Number of inodes of the writable layer's filesystem.", true},
	{"container_fs_inodes_free", "Number of available inodes of the writable layer's filesystem.", true},
	{"container_fs_reads_bytes_total", "Cumulative count of bytes read.", false},
	{"container_fs_writes_bytes_total", "Cumulative count of bytes written.", false},
	{"container_fs_reads_total", "Cumulative count of reads completed.", false},
	{"container_fs_writes_total", "Cumulative count of writes completed.", false},
	{"container_blkio_device_usage_total", "Blkio device bytes usage.", false},
	{"container_spec_cpu_period", "CPU period of the container.", true},
	{"container_spec_cpu_shares", "CPU share of the container.", true},
	{"container_spec_memory_limit_bytes", "Memory limit for the container.", true},
	{"container_spec_memory_swap_limit_bytes", "Memory swap limit for the container.", true},
	{"container_start_time_seconds", "Start time of the container since unix epoch in seconds.", true},
	{"container_last_seen", "Last time a container was seen by the exporter.", true},
}

var networkMetrics = []criMetric{
	{"container_network_receive_bytes_total", "Cumulative count of bytes received.", false},
	{"container_network_receive_packets_total", "Cumulative count of packets received.", false},
	{"container_network_receive_packets_dropped_total", "Cumulative count of packets dropped while receiving.", false},
	{"container_network_receive_errors_total", "Cumulative count of errors encountered while receiving.", false},
	{"container_network_transmit_bytes_total", "Cumulative count of bytes transmitted.", false},
	{"container_network_transmit_packets_total", "Cumulative count of packets transmitted.", false},
	{"container_network_transmit_packets_dropped_total", "Cumulative count of packets dropped while transmitting.", false},
	{"container_network_transmit_errors_total", "Cumulative count of errors encountered while transmitting.", false},
}

// MetricDescriptors lists every metric PodSandboxMetrics produces.
func (c *CRI) MetricDescriptors() []*runtimeapi.MetricDescriptor {
	var out []*runtimeapi.MetricDescriptor
	for _, m := range containerMetrics {
		out = append(out, &runtimeapi.MetricDescriptor{Name: m.name, Help: m.help, LabelKeys: metricLabels})
	}
	for _, m := range networkMetrics {
		out = append(out, &runtimeapi.MetricDescriptor{Name: m.name, Help: m.help, LabelKeys: netMetricLabels})
	}
	return out
}

// PodSandboxMetrics is every ready pod's metrics: its network at pod
// level, and its running containers' own.
func (c *CRI) PodSandboxMetrics(ctx context.Context) ([]*runtimeapi.PodSandboxMetrics, error) {
	pods, err := c.sandboxes()
	if err != nil {
		return nil, err
	}
	out := []*runtimeapi.PodSandboxMetrics{}
	for _, s := range pods {
		pm := &runtimeapi.PodSandboxMetrics{PodSandboxId: s.ID}
		for _, rec := range c.podContainers(s.ID) {
			var r containerRecord
			if c.d.md.Get(containerKind, rec.ID, &r) != nil || r.State != container.StateRunning {
				continue
			}
			cm, nets := c.containerMetrics(ctx, rec, r)
			pm.ContainerMetrics = append(pm.ContainerMetrics, cm)
			if len(pm.Metrics) == 0 && !s.HostNetwork() {
				pm.Metrics = netMetricValues(rec, r, nets)
			}
		}
		out = append(out, pm)
	}
	return out, nil
}

func labelValues(rec *pod.Container, r containerRecord) []string {
	return []string{rec.Metadata.GetName(), rec.ID, rec.Image, r.Name}
}

func metric(name string, gauge bool, labels []string, v uint64) *runtimeapi.Metric {
	t := runtimeapi.MetricType_COUNTER
	if gauge {
		t = runtimeapi.MetricType_GAUGE
	}
	return &runtimeapi.Metric{Name: name, Timestamp: time.Now().UnixNano(), MetricType: t, LabelValues: labels, Value: &runtimeapi.UInt64Value{Value: v}}
}

// containerMetrics reads one running container's values, and returns its
// network namespace's counters for the pod.
func (c *CRI) containerMetrics(ctx context.Context, rec *pod.Container, r containerRecord) (*runtimeapi.ContainerMetrics, map[string]container.NetworkStats) {
	var st cgroups.Stats
	_ = c.d.runtimeOf(rec.ID).Stats(ctx, rec.ID, &st)
	pids, _ := c.d.runtimeOf(rec.ID).Ps(ctx, rec.ID)
	v := cgroupValues(&st)
	threads, fds, socks := procCounts(pids)
	v["container_threads"], v["container_file_descriptors"], v["container_sockets"] = threads, fds, socks
	if upper, err := c.d.images.Snapshots().UpperDir(rec.ID); err == nil {
		v["container_fs_usage_bytes"] = dirBytes(upper)
		if u, err := sys.Statfs(upper); err == nil {
			v["container_fs_limit_bytes"], v["container_fs_inodes_total"], v["container_fs_inodes_free"] = u.Bytes, u.Inodes, u.FreeInodes
		}
	}
	res := r.HostConfig.Resources
	v["container_spec_cpu_period"], v["container_spec_cpu_shares"] = uint64(max(res.CPUPeriod, 0)), uint64(max(res.CPUShares, 0))
	v["container_spec_memory_limit_bytes"], v["container_spec_memory_swap_limit_bytes"] = uint64(max(res.Memory, 0)), uint64(max(res.MemorySwap, 0))
	v["container_start_time_seconds"], v["container_last_seen"] = uint64(r.StartedAt.Unix()), uint64(time.Now().Unix())
	labels := labelValues(rec, r)
	cm := &runtimeapi.ContainerMetrics{ContainerId: rec.ID}
	for _, m := range containerMetrics {
		cm.Metrics = append(cm.Metrics, metric(m.name, m.gauge, labels, v[m.name]))
	}
	var nets map[string]container.NetworkStats
	if len(pids) > 0 {
		nets, _ = netStats(pids[0])
	}
	return cm, nets
}

// cgroupValues maps a cgroup snapshot (v1 or v2 names) onto the metrics.
func cgroupValues(st *cgroups.Stats) map[string]uint64 {
	m := st.Memory.Stat
	pick := func(keys ...string) uint64 { return firstStat(m, keys...) }
	ws := st.Memory.Usage
	if in := pick("total_inactive_file", "inactive_file"); in < ws {
		ws -= in
	} else {
		ws = 0
	}
	threadsMax := st.Pids.Limit
	if threadsMax == math.MaxUint64 {
		threadsMax = 0
	}
	v := map[string]uint64{
		"container_cpu_usage_seconds_total":         st.CPU.UsageNS / 1e9,
		"container_cpu_user_seconds_total":          st.CPU.UserNS / 1e9,
		"container_cpu_system_seconds_total":        st.CPU.SystemNS / 1e9,
		"container_cpu_cfs_periods_total":           st.CPU.Periods,
		"container_cpu_cfs_throttled_periods_total": st.CPU.ThrottledPeriods,
		"container_cpu_cfs_throttled_seconds_total": st.CPU.ThrottledNS / 1e9,
		"container_memory_cache":                    pick("total_cache", "cache", "file"),
		"container_memory_rss":                      pick("total_rss", "rss", "anon"),
		"container_memory_mapped_file":              pick("total_mapped_file", "mapped_file", "file_mapped"),
		"container_memory_swap":                     st.Memory.SwapUsage,
		"container_memory_usage_bytes":              st.Memory.Usage,
		"container_memory_max_usage_bytes":          st.Memory.MaxUsage,
		"container_memory_working_set_bytes":        ws,
		"container_memory_failcnt":                  pick("failcnt"),
		"container_memory_failures_total":           pick("total_pgfault", "pgfault"),
		"container_memory_kernel_usage":             pick("kernel", "kernel_stack") + pick("slab"),
		"container_oom_events_total":                st.OOMKill,
		"container_processes":                       st.Pids.Current,
		"container_threads_max":                     threadsMax,
	}
	for _, e := range st.IO {
		switch e.Op {
		case "read":
			v["container_fs_reads_bytes_total"] += e.Value
		case "write":
			v["container_fs_writes_bytes_total"] += e.Value
		case "rios":
			v["container_fs_reads_total"] += e.Value
		case "wios":
			v["container_fs_writes_total"] += e.Value
		}
		if e.Op == "read" || e.Op == "write" {
			v["container_blkio_device_usage_total"] += e.Value
		}
	}
	return v
}

// procCounts counts the threads, open descriptors and sockets of pids.
func procCounts(pids []int) (threads, fds, sockets uint64) {
	for _, pid := range pids {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
			for _, l := range strings.Split(string(b), "\n") {
				if rest, ok := strings.CutPrefix(l, "Threads:"); ok {
					n, _ := strconv.ParseUint(strings.TrimSpace(rest), 10, 64)
					threads += n
				}
			}
		}
		dir := fmt.Sprintf("/proc/%d/fd", pid)
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range ents {
			fds++
			if l, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil && strings.HasPrefix(l, "socket:") {
				sockets++
			}
		}
	}
	return threads, fds, sockets
}

// dirBytes is the size of the files under dir (the writable layer).
func dirBytes(dir string) uint64 {
	var n uint64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += uint64(fi.Size())
			}
		}
		return nil
	})
	return n
}

func netMetricValues(rec *pod.Container, r containerRecord, nets map[string]container.NetworkStats) []*runtimeapi.Metric {
	var out []*runtimeapi.Metric
	for name, n := range nets {
		labels := append(labelValues(rec, r), name)
		vals := []uint64{n.RxBytes, n.RxPackets, n.RxDropped, n.RxErrors, n.TxBytes, n.TxPackets, n.TxDropped, n.TxErrors}
		for i, m := range networkMetrics {
			out = append(out, metric(m.name, m.gauge, labels, vals[i]))
		}
	}
	return out
}
