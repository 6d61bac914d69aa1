package cgroups

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/pier-engine/pier/internal/cgroups/fscommon"
)

// Stats is a snapshot of a cgroup's usage and limits. A limit of
// math.MaxUint64 means none; a counter the kernel does not offer is 0.
type Stats struct {
	CPU     CPUStats
	Memory  MemoryStats
	Pids    PidsStats
	IO      []IOEntry
	OOMKill uint64
}

// CPUStats are times in nanoseconds.
type CPUStats struct {
	UsageNS, UserNS, SystemNS              uint64
	Periods, ThrottledPeriods, ThrottledNS uint64
}

// MemoryStats are in bytes; Stat is memory.stat as read.
type MemoryStats struct {
	Usage, MaxUsage, Limit uint64
	SwapUsage, SwapLimit   uint64
	Stat                   map[string]uint64
}

// PidsStats counts tasks.
type PidsStats struct {
	Current, Limit uint64
}

// IOEntry is one device's counter, Op one of "read", "write" (bytes) or
// "rios", "wios" (operations).
type IOEntry struct {
	Major, Minor uint64
	Op           string
	Value        uint64
}

// userHZ is the unit of cpuacct.stat, fixed at 100 by the kernel ABI.
const userHZ = 100

func (m *manager) Stats() (*Stats, error) {
	if m.mode == V2 {
		return statsV2(m.v2dir())
	}
	return m.statsV1()
}

// optional treats a missing file as a controller the kernel lacks.
func optional(err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

func (m *manager) OOMKillCount() (uint64, error) {
	dir, file := m.v2dir(), "memory.events"
	if m.mode != V2 {
		dir, file = m.paths["memory"], "memory.oom_control"
	}
	kv, err := fscommon.GetKeyValue(dir, file)
	if err != nil {
		return 0, fmt.Errorf("oom kill count: %w", err)
	}
	return kv["oom_kill"], nil
}

func statsV2(dir string) (*Stats, error) {
	s := &Stats{}
	var errs []error
	if kv, err := fscommon.GetKeyValue(dir, "cpu.stat"); err == nil {
		s.CPU = CPUStats{
			UsageNS: kv["usage_usec"] * 1000, UserNS: kv["user_usec"] * 1000, SystemNS: kv["system_usec"] * 1000,
			Periods: kv["nr_periods"], ThrottledPeriods: kv["nr_throttled"], ThrottledNS: kv["throttled_usec"] * 1000,
		}
	} else {
		errs = append(errs, optional(err))
	}
	mem := &s.Memory
	for _, f := range []struct {
		file string
		dst  *uint64
	}{
		{"memory.current", &mem.Usage}, {"memory.peak", &mem.MaxUsage}, {"memory.max", &mem.Limit},
		{"memory.swap.current", &mem.SwapUsage}, {"memory.swap.max", &mem.SwapLimit},
		{"pids.current", &s.Pids.Current}, {"pids.max", &s.Pids.Limit},
	} {
		v, err := fscommon.GetUint(dir, f.file)
		*f.dst = v
		errs = append(errs, optional(err))
	}
	mem.Stat, _ = fscommon.GetKeyValue(dir, "memory.stat")
	if kv, err := fscommon.GetKeyValue(dir, "memory.events"); err == nil {
		s.OOMKill = kv["oom_kill"]
	}
	if io, err := fscommon.ReadFile(dir, "io.stat"); err == nil {
		s.IO = parseIOStat(io)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("cgroup stats: %w", err)
	}
	return s, nil
}

// parseIOStat reads v2 io.stat lines: "8:0 rbytes=1 wbytes=2 rios=3 wios=4".
func parseIOStat(s string) []IOEntry {
	names := map[string]string{"rbytes": "read", "wbytes": "write", "rios": "rios", "wios": "wios"}
	var out []IOEntry
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		var maj, min uint64
		if _, err := fmt.Sscanf(f[0], "%d:%d", &maj, &min); err != nil {
			continue
		}
		for _, kv := range f[1:] {
			k, v, ok := strings.Cut(kv, "=")
			n, err := strconv.ParseUint(v, 10, 64)
			if op := names[k]; ok && op != "" && err == nil {
				out = append(out, IOEntry{Major: maj, Minor: min, Op: op, Value: n})
			}
		}
	}
	return out
}

func (m *manager) statsV1() (*Stats, error) {
	s := &Stats{Memory: MemoryStats{Limit: math.MaxUint64, SwapLimit: math.MaxUint64}, Pids: PidsStats{Limit: math.MaxUint64}}
	var errs []error
	get := func(ctrl, file string, dst *uint64) {
		dir, ok := m.paths[ctrl]
		if !ok {
			return
		}
		v, err := fscommon.GetUint(dir, file)
		if err == nil {
			*dst = v
		}
		errs = append(errs, optional(err))
	}
	get("cpuacct", "cpuacct.usage", &s.CPU.UsageNS)
	if d, ok := m.paths["cpuacct"]; ok {
		if kv, err := fscommon.GetKeyValue(d, "cpuacct.stat"); err == nil {
			s.CPU.UserNS = kv["user"] * (1e9 / userHZ)
			s.CPU.SystemNS = kv["system"] * (1e9 / userHZ)
		}
	}
	if d, ok := m.paths["cpu"]; ok {
		if kv, err := fscommon.GetKeyValue(d, "cpu.stat"); err == nil {
			s.CPU.Periods, s.CPU.ThrottledPeriods, s.CPU.ThrottledNS = kv["nr_periods"], kv["nr_throttled"], kv["throttled_time"]
		}
	}
	get("memory", "memory.usage_in_bytes", &s.Memory.Usage)
	get("memory", "memory.max_usage_in_bytes", &s.Memory.MaxUsage)
	get("memory", "memory.limit_in_bytes", &s.Memory.Limit)
	get("memory", "memory.memsw.limit_in_bytes", &s.Memory.SwapLimit)
	if d, ok := m.paths["memory"]; ok {
		s.Memory.Stat, _ = fscommon.GetKeyValue(d, "memory.stat")
		s.Memory.SwapUsage = s.Memory.Stat["swap"]
		if kv, err := fscommon.GetKeyValue(d, "memory.oom_control"); err == nil {
			s.OOMKill = kv["oom_kill"]
		}
	}
	get("pids", "pids.current", &s.Pids.Current)
	get("pids", "pids.max", &s.Pids.Limit)
	if d, ok := m.paths["blkio"]; ok {
		if b, err := fscommon.ReadFile(d, "blkio.throttle.io_service_bytes_recursive"); err == nil {
			s.IO = parseBlkio(b)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("cgroup stats: %w", err)
	}
	return s, nil
}

// parseBlkio reads v1 "8:0 Read 4096" lines.
func parseBlkio(s string) []IOEntry {
	var out []IOEntry
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) != 3 || (f[1] != "Read" && f[1] != "Write") {
			continue
		}
		var maj, min uint64
		n, err := strconv.ParseUint(f[2], 10, 64)
		if _, serr := fmt.Sscanf(f[0], "%d:%d", &maj, &min); serr != nil || err != nil {
			continue
		}
		out = append(out, IOEntry{Major: maj, Minor: min, Op: strings.ToLower(f[1]), Value: n})
	}
	return out
}
