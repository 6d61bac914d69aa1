package daemon

import (
	"context"
	"fmt"
	"strconv"

	"github.com/moby/moby/api/types/container"
)

// ContainerUpdate changes a container's resource limits: a running one's
// cgroup through the runtime, and the record's HostConfig for later starts.
func (d *Daemon) ContainerUpdate(ctx context.Context, ref string, u container.UpdateConfig) (container.UpdateResponse, error) {
	r, unlock, err := d.lookupLocked(ref)
	if err != nil {
		return container.UpdateResponse{}, err
	}
	defer unlock()
	if args := updateArgs(u.Resources); len(args) > 0 && (r.State == container.StateRunning || r.State == container.StatePaused) {
		args = append(append([]string{"update"}, args...), r.ID)
		if out, err := d.runtimeCmd(ctx, r.ID, args...).CombinedOutput(); err != nil {
			return container.UpdateResponse{}, fmt.Errorf("update %s: %s: %w", r.ID, out, err)
		}
	}
	err = d.md.Update(containerKind, r.ID, &r, func() error {
		mergeResources(&r.HostConfig.Resources, u.Resources)
		if u.RestartPolicy.Name != "" {
			r.HostConfig.RestartPolicy = u.RestartPolicy
		}
		return nil
	})
	return container.UpdateResponse{Warnings: []string{}}, err
}

// updateArgs are pier-runtime update's flags for the set fields of res;
// NanoCPUs becomes a quota over a 100ms period.
func updateArgs(res container.Resources) []string {
	var a []string
	i := func(flag string, v int64) { a = append(a, flag, strconv.FormatInt(v, 10)) }
	if res.Memory != 0 {
		i("--memory", res.Memory)
	}
	if res.MemorySwap != 0 {
		i("--memory-swap", res.MemorySwap)
	}
	if res.CPUShares != 0 {
		i("--cpu-shares", res.CPUShares)
	}
	switch {
	case res.NanoCPUs != 0:
		i("--cpu-period", 100000)
		i("--cpu-quota", res.NanoCPUs*100000/1e9)
	case res.CPUQuota != 0 || res.CPUPeriod != 0:
		if res.CPUPeriod != 0 {
			i("--cpu-period", res.CPUPeriod)
		}
		if res.CPUQuota != 0 {
			i("--cpu-quota", res.CPUQuota)
		}
	}
	if res.CpusetCpus != "" {
		a = append(a, "--cpuset-cpus", res.CpusetCpus)
	}
	if res.PidsLimit != nil && *res.PidsLimit != 0 {
		i("--pids-limit", *res.PidsLimit)
	}
	return a
}

// mergeResources copies the set fields of u into dst, as dockerd's update.
func mergeResources(dst *container.Resources, u container.Resources) {
	if u.Memory != 0 {
		dst.Memory = u.Memory
	}
	if u.MemorySwap != 0 {
		dst.MemorySwap = u.MemorySwap
	}
	if u.CPUShares != 0 {
		dst.CPUShares = u.CPUShares
	}
	if u.NanoCPUs != 0 {
		dst.NanoCPUs, dst.CPUQuota, dst.CPUPeriod = u.NanoCPUs, 0, 0
	}
	if u.CPUQuota != 0 {
		dst.CPUQuota = u.CPUQuota
	}
	if u.CPUPeriod != 0 {
		dst.CPUPeriod = u.CPUPeriod
	}
	if u.CpusetCpus != "" {
		dst.CpusetCpus = u.CpusetCpus
	}
	if u.PidsLimit != nil && *u.PidsLimit != 0 {
		dst.PidsLimit = u.PidsLimit
	}
}
