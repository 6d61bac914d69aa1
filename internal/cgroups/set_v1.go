package cgroups

import (
	"errors"
	"fmt"
	"math"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/pier-engine/pier/internal/cgroups/fscommon"
)

// setV1 writes r controller by controller; Validate has already made sure
// every controller r needs is mounted.
func (m *manager) setV1(r *specs.LinuxResources) error {
	p := m.paths
	steps := []func() error{
		func() error { return setCpusetV1(p["cpuset"], r.CPU) },
		func() error { return setMemoryV1(p["memory"], r.Memory) },
		func() error { return setCPUV1(p["cpu"], r.CPU) },
		func() error { return setPidsV1(p["pids"], r.Pids) },
		func() error { return setBlkioV1(p["blkio"], r.BlockIO) },
		func() error { return setDevicesV1(p["devices"], r.Devices) },
		func() error { return setNetworkV1(p["net_cls"], p["net_prio"], r.Network) },
		func() error { return setHugetlb(p["hugetlb"], r.HugepageLimits, "limit_in_bytes") },
		func() error { return setRdma(p["rdma"], r.Rdma) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

func setCpusetV1(dir string, c *specs.LinuxCPU) error {
	if c == nil {
		return nil
	}
	w := &writer{dir: dir}
	if c.Cpus != "" {
		w.set("cpuset.cpus", c.Cpus)
	}
	if c.Mems != "" {
		w.set("cpuset.mems", c.Mems)
	}
	return w.err
}

// setMemoryV1 writes the limit and memory+swap in the order the kernel
// accepts: memory.limit_in_bytes may never exceed memsw.limit_in_bytes, so
// when raising, memsw goes first, and when lowering, the limit does.
func setMemoryV1(dir string, mem *specs.LinuxMemory) error {
	if mem == nil {
		return nil
	}
	limit, swap := positive(mem.Limit), positive(mem.Swap)
	if limit != nil && *limit == -1 && swap == nil && exists(dir, "memory.memsw.limit_in_bytes") {
		unlimited := int64(-1) // memory unlimited: swap must follow or the write fails
		swap = &unlimited
	}
	if err := checkUsage(dir, "memory.usage_in_bytes", mem); err != nil {
		return err
	}
	w := &writer{dir: dir}
	swapFirst := false
	if limit != nil && swap != nil {
		cur, err := fscommon.GetUint(dir, "memory.limit_in_bytes")
		if err != nil {
			cur = math.MaxUint64
		}
		swapFirst = *swap == -1 || uint64(*swap) >= cur
	}
	if swapFirst {
		w.int("memory.memsw.limit_in_bytes", swap)
	}
	w.int("memory.limit_in_bytes", limit)
	if !swapFirst {
		w.int("memory.memsw.limit_in_bytes", swap)
	}
	w.int("memory.soft_limit_in_bytes", positive(mem.Reservation))
	// memory.kmem.limit_in_bytes (mem.Kernel) is gone from kernels >= 5.16
	// and deprecated in the spec: ignored.
	w.int("memory.kmem.tcp.limit_in_bytes", positive(mem.KernelTCP))
	w.uint("memory.swappiness", mem.Swappiness)
	if mem.DisableOOMKiller != nil && *mem.DisableOOMKiller {
		w.set("memory.oom_control", "1")
	}
	return w.err
}

// checkUsage refuses, when the spec asks with checkBeforeUpdate, a limit
// below what the cgroup already uses.
func checkUsage(dir, usageFile string, mem *specs.LinuxMemory) error {
	if mem.CheckBeforeUpdate == nil || !*mem.CheckBeforeUpdate || mem.Limit == nil || *mem.Limit <= 0 {
		return nil
	}
	usage, err := fscommon.GetUint(dir, usageFile)
	if err != nil {
		return optional(err)
	}
	if usage > uint64(*mem.Limit) {
		return fmt.Errorf(field+"memory.limit: %d is below the current usage %d", *mem.Limit, usage)
	}
	return nil
}

func setCPUV1(dir string, c *specs.LinuxCPU) error {
	if c == nil {
		return nil
	}
	w := &writer{dir: dir}
	if c.Shares != nil && *c.Shares != 0 {
		w.uint("cpu.shares", c.Shares)
	}
	// The kernel checks quota/period against the parent at each write, so
	// a period write can fail until the quota is in; then write it after.
	if c.Period != nil && *c.Period != 0 {
		w.uint("cpu.cfs_period_us", c.Period)
		if errors.Is(w.err, unix.EINVAL) && c.Quota != nil {
			w.err = nil
			w.int("cpu.cfs_quota_us", c.Quota)
			w.uint("cpu.cfs_period_us", c.Period)
		}
	}
	w.int("cpu.cfs_quota_us", positive(c.Quota))
	w.uint("cpu.cfs_burst_us", c.Burst)
	if c.RealtimePeriod != nil && *c.RealtimePeriod != 0 {
		w.uint("cpu.rt_period_us", c.RealtimePeriod)
	}
	w.int("cpu.rt_runtime_us", positive(c.RealtimeRuntime))
	w.int("cpu.idle", c.Idle)
	return w.err
}

func setPidsV1(dir string, p *specs.LinuxPids) error {
	if p == nil || p.Limit == nil {
		return nil
	}
	return kernel.write(dir, "pids.max", pidsMax(*p.Limit))
}

// pidsMax is the pids.max value: 0 or less means no limit.
func pidsMax(limit int64) string {
	if limit <= 0 {
		return "max"
	}
	return strconv.FormatInt(limit, 10)
}

// setBlkioV1 uses blkio.weight (CFQ) or, on kernels with only BFQ,
// blkio.bfq.weight, which takes the same range.
func setBlkioV1(dir string, b *specs.LinuxBlockIO) error {
	if b == nil {
		return nil
	}
	weight, weightDev := "blkio.weight", "blkio.weight_device"
	if !exists(dir, weight) && exists(dir, "blkio.bfq.weight") {
		weight, weightDev = "blkio.bfq.weight", "blkio.bfq.weight_device"
	}
	w := &writer{dir: dir}
	if b.Weight != nil && *b.Weight != 0 {
		w.set(weight, strconv.Itoa(int(*b.Weight)))
	}
	if b.LeafWeight != nil && *b.LeafWeight != 0 {
		w.set("blkio.leaf_weight", strconv.Itoa(int(*b.LeafWeight)))
	}
	for _, d := range b.WeightDevice {
		if d.Weight != nil {
			w.set(weightDev, fmt.Sprintf("%s %d", devNum(d.LinuxBlockIODevice), *d.Weight))
		}
		if d.LeafWeight != nil {
			w.set("blkio.leaf_weight_device", fmt.Sprintf("%s %d", devNum(d.LinuxBlockIODevice), *d.LeafWeight))
		}
	}
	for _, t := range throttles(b) {
		for _, d := range t.devs {
			w.set("blkio.throttle."+t.v1File, fmt.Sprintf("%s %d", devNum(d.LinuxBlockIODevice), d.Rate))
		}
	}
	return w.err
}

// setDevicesV1 denies everything, then replays the rules in order: the
// kernel's exception list then says what the last matching rule says.
func setDevicesV1(dir string, in []specs.LinuxDeviceCgroup) error {
	if len(in) == 0 {
		return nil
	}
	rules, err := devRules(in)
	if err != nil {
		return err
	}
	w := &writer{dir: dir}
	w.set("devices.deny", "a")
	for _, r := range rules {
		file := "devices.deny"
		if r.allow {
			file = "devices.allow"
		}
		w.set(file, r.v1Line())
	}
	return w.err
}

func setNetworkV1(clsDir, prioDir string, n *specs.LinuxNetwork) error {
	if n == nil {
		return nil
	}
	if n.ClassID != nil {
		if err := kernel.write(clsDir, "net_cls.classid", strconv.FormatUint(uint64(*n.ClassID), 10)); err != nil {
			return err
		}
	}
	for _, p := range n.Priorities {
		if err := kernel.write(prioDir, "net_prio.ifpriomap", fmt.Sprintf("%s %d", p.Name, p.Priority)); err != nil {
			return err
		}
	}
	return nil
}

// setHugetlb writes hugetlb.<size>.<suffix> and, where the kernel has
// reservation accounting, the rsvd limit too, as the spec prefers.
func setHugetlb(dir string, limits []specs.LinuxHugepageLimit, suffix string) error {
	w := &writer{dir: dir}
	for _, l := range limits {
		v := strconv.FormatUint(l.Limit, 10)
		w.set("hugetlb."+l.Pagesize+"."+suffix, v)
		if rsvd := "hugetlb." + l.Pagesize + ".rsvd." + suffix; exists(dir, rsvd) {
			w.set(rsvd, v)
		}
	}
	return w.err
}

func setRdma(dir string, limits map[string]specs.LinuxRdma) error {
	w := &writer{dir: dir}
	for _, dev := range sortedKeys(limits) {
		w.set("rdma.max", rdmaLine(dev, limits[dev]))
	}
	return w.err
}
