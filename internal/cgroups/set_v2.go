package cgroups

import (
	"fmt"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// setV2 writes r in the unified hierarchy, translating v1 notions (shares,
// blkio weights, memory+swap) to their v2 files.
func setV2(dir string, r *specs.LinuxResources) error {
	steps := []func() error{
		func() error { return setCPUV2(dir, r.CPU) },
		func() error { return setMemoryV2(dir, r.Memory) },
		func() error { return setPidsV2(dir, r.Pids) },
		func() error { return setIOV2(dir, r.BlockIO) },
		func() error { return setHugetlb(dir, r.HugepageLimits, "max") },
		func() error { return setRdma(dir, r.Rdma) },
		func() error { return setDevicesV2(dir, r.Devices) },
		func() error { return setUnified(dir, r.Unified) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

func setCPUV2(dir string, c *specs.LinuxCPU) error {
	if c == nil {
		return nil
	}
	w := &writer{dir: dir}
	if c.Shares != nil && *c.Shares != 0 {
		w.set("cpu.weight", strconv.FormatUint(sharesToWeight(*c.Shares), 10))
	}
	if v := cpuMax(c); v != "" {
		w.set("cpu.max", v)
	}
	w.uint("cpu.max.burst", c.Burst)
	w.int("cpu.idle", c.Idle)
	if c.Cpus != "" {
		w.set("cpuset.cpus", c.Cpus)
	}
	if c.Mems != "" {
		w.set("cpuset.mems", c.Mems)
	}
	return w.err
}

// cpuMax is cpu.max, "$QUOTA $PERIOD" with "max" for no quota; "" when
// neither is set.
func cpuMax(c *specs.LinuxCPU) string {
	quota, period := positive(c.Quota), c.Period
	if period != nil && *period == 0 {
		period = nil
	}
	if quota == nil && period == nil {
		return ""
	}
	s := "max"
	if quota != nil && *quota > 0 {
		s = strconv.FormatInt(*quota, 10)
	}
	if period != nil {
		s += " " + strconv.FormatUint(*period, 10)
	}
	return s
}

// swapV2 turns the spec's memory+swap total into memory.swap.max, which
// counts swap alone; -1 is "max", nil leaves it alone.
func swapV2(mem *specs.LinuxMemory) *string {
	limit, swap := positive(mem.Limit), positive(mem.Swap)
	var s string
	switch {
	case swap == nil && limit != nil && *limit == -1:
		s = "max" // memory unlimited and swap unsaid: unlimited too, as on v1
	case swap == nil:
		return nil
	case *swap == -1:
		s = "max"
	case limit != nil && *limit > 0:
		s = strconv.FormatInt(*swap-*limit, 10)
	default:
		return nil // Validate refuses swap without a limit
	}
	return &s
}

func setMemoryV2(dir string, mem *specs.LinuxMemory) error {
	if mem == nil {
		return nil
	}
	if err := checkUsage(dir, "memory.current", mem); err != nil {
		return err
	}
	w := &writer{dir: dir}
	// swap first: memory.max and memory.swap.max are independent on v2,
	// but a lowered swap should hold before the limit pushes pages out.
	if s := swapV2(mem); s != nil {
		w.set("memory.swap.max", *s)
	}
	if l := positive(mem.Limit); l != nil {
		w.set("memory.max", limitV2(*l))
	}
	if r := positive(mem.Reservation); r != nil {
		w.set("memory.low", limitV2(*r))
	}
	return w.err
}

// limitV2 is a memory.max or memory.low value: -1 is "max". Other
// negative numbers go to the kernel as they are, which refuses them as v1
// does, rather than silently lifting the limit.
func limitV2(v int64) string {
	if v == -1 {
		return "max"
	}
	return strconv.FormatInt(v, 10)
}

func setPidsV2(dir string, p *specs.LinuxPids) error {
	if p == nil || p.Limit == nil {
		return nil
	}
	return kernel.write(dir, "pids.max", pidsMax(*p.Limit))
}

// setIOV2 writes io.weight with blkio weights mapped to its range, or
// io.bfq.weight (same range as blkio) where only BFQ offers weights, and
// the throttles as io.max lines.
func setIOV2(dir string, b *specs.LinuxBlockIO) error {
	if b == nil {
		return nil
	}
	w := &writer{dir: dir}
	bfq := !exists(dir, "io.weight") && exists(dir, "io.bfq.weight")
	weight := func(v uint16) string {
		if bfq {
			return strconv.Itoa(int(v))
		}
		return strconv.FormatUint(blkioToIOWeight(v), 10)
	}
	file := "io.weight"
	if bfq {
		file = "io.bfq.weight"
	}
	if b.Weight != nil && *b.Weight != 0 {
		w.set(file, "default "+weight(*b.Weight))
	}
	for _, d := range b.WeightDevice {
		if d.Weight != nil {
			w.set(file, devNum(d.LinuxBlockIODevice)+" "+weight(*d.Weight))
		}
	}
	for _, t := range throttles(b) {
		for _, d := range t.devs {
			rate := "max"
			if d.Rate != 0 {
				rate = strconv.FormatUint(d.Rate, 10)
			}
			w.set("io.max", fmt.Sprintf("%s %s=%s", devNum(d.LinuxBlockIODevice), t.v2Key, rate))
		}
	}
	return w.err
}

// setDevicesV2 replaces the cgroup's device filter with one built from the
// rules; v2 has no device files, only the eBPF hook.
func setDevicesV2(dir string, in []specs.LinuxDeviceCgroup) error {
	if len(in) == 0 {
		return nil
	}
	rules, err := devRules(in)
	if err != nil {
		return err
	}
	return kernel.attachDevices(dir, rules)
}
