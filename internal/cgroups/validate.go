package cgroups

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

const field = "linux.resources."

// Validate reports what of r cannot be honoured in each given mode, every
// error naming its field: values out of range, and v1-only settings on v2
// where no translation exists. With no mode it checks against this
// machine's layout and controllers.
func Validate(r *specs.LinuxResources, modes ...Mode) error {
	if len(modes) == 0 {
		l, err := detect(DefaultRoot)
		if err != nil {
			return err
		}
		return validate(r, l.mode, l.avail)
	}
	var errs []error
	for _, m := range modes {
		errs = append(errs, validate(r, m, nil))
	}
	return errors.Join(errs...)
}

func (m *manager) Validate(r *specs.LinuxResources) error {
	return validate(r, m.mode, m.avail)
}

// validate checks r for mode; avail, when not nil, is the set of
// controllers a new cgroup gets.
func validate(r *specs.LinuxResources, mode Mode, avail map[string]bool) error {
	if r == nil {
		return nil
	}
	v := &validator{mode: mode, avail: avail}
	v.memory(r.Memory)
	v.cpu(r.CPU)
	if r.Pids != nil {
		v.need("pids", "pids")
	}
	v.blockIO(r.BlockIO)
	v.hugetlb(r.HugepageLimits)
	v.network(r.Network)
	v.devices(r.Devices)
	if len(r.Rdma) > 0 {
		v.need("rdma", "rdma")
	}
	v.unified(r.Unified)
	return errors.Join(v.errs...)
}

type validator struct {
	mode  Mode
	avail map[string]bool
	errs  []error
}

func (v *validator) fail(f, format string, args ...any) {
	v.errs = append(v.errs, fmt.Errorf(field+f+": "+format, args...))
}

// need fails f when ctrl is known to be missing.
func (v *validator) need(f, ctrl string) bool {
	if v.avail != nil && !v.avail[ctrl] {
		v.fail(f, "%s controller not available", ctrl)
		return false
	}
	return true
}

func (v *validator) memory(m *specs.LinuxMemory) {
	if m == nil {
		return
	}
	v.need("memory", "memory")
	if m.Swap != nil && *m.Swap > 0 {
		if m.Limit == nil || *m.Limit <= 0 {
			if v.mode == V2 {
				v.fail("memory.swap", "needs memory.limit on cgroup v2")
			}
		} else if *m.Swap < *m.Limit {
			v.fail("memory.swap", "%d is less than memory.limit %d (swap is memory+swap)", *m.Swap, *m.Limit)
		}
	}
	if m.Swappiness != nil {
		if v.mode == V2 {
			v.fail("memory.swappiness", "not supported on cgroup v2")
		} else if *m.Swappiness > 100 {
			v.fail("memory.swappiness", "%d is out of range 0-100", *m.Swappiness)
		}
	}
	if m.DisableOOMKiller != nil && *m.DisableOOMKiller && v.mode == V2 {
		v.fail("memory.disableOOMKiller", "not supported on cgroup v2")
	}
}

func (v *validator) cpu(c *specs.LinuxCPU) {
	if c == nil {
		return
	}
	if c.Shares != nil || c.Quota != nil || c.Period != nil || c.Burst != nil || c.Idle != nil {
		v.need("cpu", "cpu")
	}
	if c.Cpus != "" || c.Mems != "" {
		v.need("cpu.cpus", "cpuset")
	}
	if v.mode == V2 && (c.RealtimeRuntime != nil || c.RealtimePeriod != nil) {
		v.fail("cpu.realtimeRuntime", "realtime scheduling limits are not supported on cgroup v2")
	}
	if c.Idle != nil && *c.Idle != 0 && *c.Idle != 1 {
		v.fail("cpu.idle", "%d is not 0 or 1", *c.Idle)
	}
	if c.Shares != nil && *c.Shares != 0 && (*c.Shares < 2 || *c.Shares > 262144) {
		v.fail("cpu.shares", "%d is out of range 2-262144", *c.Shares)
	}
}

func (v *validator) blockIO(b *specs.LinuxBlockIO) {
	if b == nil {
		return
	}
	ctrl := "blkio"
	if v.mode == V2 {
		ctrl = "io"
	}
	v.need("blockIO", ctrl)
	if b.Weight != nil && *b.Weight != 0 && (*b.Weight < 10 || *b.Weight > 1000) {
		v.fail("blockIO.weight", "%d is out of range 10-1000", *b.Weight)
	}
	if v.mode == V2 && b.LeafWeight != nil && *b.LeafWeight != 0 {
		v.fail("blockIO.leafWeight", "not supported on cgroup v2")
	}
	for i, d := range b.WeightDevice {
		if d.Weight != nil && (*d.Weight < 10 || *d.Weight > 1000) {
			v.fail(fmt.Sprintf("blockIO.weightDevice[%d].weight", i), "%d is out of range 10-1000", *d.Weight)
		}
		if v.mode == V2 && d.LeafWeight != nil {
			v.fail(fmt.Sprintf("blockIO.weightDevice[%d].leafWeight", i), "not supported on cgroup v2")
		}
	}
}

// The patterns are compiled on first use, not at every runtime command's
// start (each regexp costs a fresh process tens of µs).
var pageSizeRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9]+[KMG]B$`) })

func (v *validator) hugetlb(limits []specs.LinuxHugepageLimit) {
	if len(limits) == 0 {
		return
	}
	v.need("hugepageLimits", "hugetlb")
	for i, l := range limits {
		if !pageSizeRE().MatchString(l.Pagesize) {
			v.fail(fmt.Sprintf("hugepageLimits[%d].pageSize", i), "%q is not a size like 2MB", l.Pagesize)
		}
	}
}

func (v *validator) network(n *specs.LinuxNetwork) {
	if n == nil {
		return
	}
	if v.mode == V2 && (n.ClassID != nil || len(n.Priorities) > 0) {
		v.fail("network", "net_cls and net_prio do not exist on cgroup v2")
		return
	}
	if n.ClassID != nil {
		v.need("network.classID", "net_cls")
	}
	if len(n.Priorities) > 0 {
		v.need("network.priorities", "net_prio")
	}
}

func (v *validator) devices(rules []specs.LinuxDeviceCgroup) {
	if len(rules) == 0 {
		return
	}
	if v.mode != V2 {
		v.need("devices", "devices")
	}
	for i, r := range rules {
		if _, err := newDevRule(r); err != nil {
			v.fail(fmt.Sprintf("devices[%d]", i), "%s", err.Error())
		}
	}
}

// unifiedKeyRE is a cgroupfs file name: no "/", no path tricks.
var unifiedKeyRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z0-9_]+\.[a-zA-Z0-9_.]+$`) })

func (v *validator) unified(u map[string]string) {
	if len(u) == 0 {
		return
	}
	if v.mode == V1 {
		v.fail("unified", "requires cgroup v2")
		return
	}
	for k := range u {
		f := fmt.Sprintf("unified[%q]", k)
		if !unifiedKeyRE().MatchString(k) || strings.Contains(k, "..") {
			v.fail(f, "not a cgroup file name")
			continue
		}
		ctrl := k[:strings.IndexByte(k, '.')]
		if ctrl != "cgroup" && (v.mode == Hybrid || v.avail != nil && !v.avail[ctrl]) {
			v.fail(f, "%s controller not available", ctrl)
		}
	}
}
