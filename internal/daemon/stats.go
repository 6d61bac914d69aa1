package daemon

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"

	"github.com/pier-engine/pier/internal/cgroups"
	"github.com/pier-engine/pier/internal/errdefs"
)

// ContainerStats sends the container's cgroup usage to fn: once, or with
// stream one snapshot a second until ctx ends or the container stops.
func (d *Daemon) ContainerStats(ctx context.Context, ref string, stream bool, fn func(container.StatsResponse) error) error {
	r, err := d.lookup(ref)
	if err != nil {
		return err
	}
	var prev container.StatsResponse
	for {
		cur, err := d.statsOnce(ctx, r)
		if err != nil {
			if !stream || prev.Read.IsZero() {
				return err
			}
			return nil // the container stopped (or ctx ended) while streaming
		}
		cur.PreCPUStats, cur.PreRead = prev.CPUStats, prev.Read
		if err := fn(cur); err != nil || !stream {
			return err
		}
		prev = cur
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

// statsOnce asks the runtime for one stats event of r; a container that
// does not run yields an empty snapshot, as dockerd's.
func (d *Daemon) statsOnce(ctx context.Context, r containerRecord) (container.StatsResponse, error) {
	resp := container.StatsResponse{ID: r.ID, Name: "/" + r.Name, Read: time.Now().UTC()}
	cur, err := d.lookup(r.ID)
	if err != nil {
		return resp, err
	}
	if cur.State != container.StateRunning && cur.State != container.StatePaused {
		return resp, fmt.Errorf("container %s: not running: %w", r.ID, errdefs.ErrConflict)
	}
	var st cgroups.Stats
	if err := d.runtimeOf(r.ID).Stats(ctx, r.ID, &st); err != nil {
		return resp, fmt.Errorf("stats of %s: %w", r.ID, err)
	}
	fillStats(&resp, &st)
	resp.CPUStats.SystemUsage, _ = systemCPUUsage()
	if nets, err := netStats(cur.Pid); err == nil && len(nets) > 0 {
		resp.Networks = nets
	}
	return resp, nil
}

// fillStats maps the cgroup snapshot onto the API's; an unlimited limit
// reads as 0 (pids) or the host's memory (memory), as dockerd reports.
func fillStats(resp *container.StatsResponse, st *cgroups.Stats) {
	resp.CPUStats.CPUUsage = container.CPUUsage{
		TotalUsage: st.CPU.UsageNS, UsageInKernelmode: st.CPU.SystemNS, UsageInUsermode: st.CPU.UserNS,
	}
	resp.CPUStats.OnlineCPUs = uint32(runtime.NumCPU())
	resp.CPUStats.ThrottlingData = container.ThrottlingData{
		Periods: st.CPU.Periods, ThrottledPeriods: st.CPU.ThrottledPeriods, ThrottledTime: st.CPU.ThrottledNS,
	}
	limit := st.Memory.Limit
	if limit == math.MaxUint64 || limit == 0 {
		limit = hostMemory()
	}
	resp.MemoryStats = container.MemoryStats{
		Usage: st.Memory.Usage, MaxUsage: st.Memory.MaxUsage, Limit: limit, Stats: st.Memory.Stat,
	}
	resp.BlkioStats = blkioStats(st.IO)
	resp.PidsStats = container.PidsStats{Current: st.Pids.Current}
	if st.Pids.Limit != math.MaxUint64 {
		resp.PidsStats.Limit = st.Pids.Limit
	}
}

// systemCPUUsage is the host's cpu time in nanoseconds from /proc/stat.
func systemCPUUsage() (uint64, error) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 8 || fields[0] != "cpu" {
			continue
		}
		var ticks uint64
		for _, s := range fields[1:8] {
			n, err := strconv.ParseUint(s, 10, 64)
			if err != nil {
				return 0, fmt.Errorf("/proc/stat: %w", err)
			}
			ticks += n
		}
		return ticks * (uint64(time.Second) / 100), nil // USER_HZ is 100
	}
	return 0, fmt.Errorf("/proc/stat: no cpu line")
}

func hostMemory() uint64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "MemTotal:"); ok {
			n, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n * 1024
		}
	}
	return 0
}
