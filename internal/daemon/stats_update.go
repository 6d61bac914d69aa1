package daemon

import (
	"context"

	"github.com/moby/moby/api/types/container"

	"github.com/pier-engine/pier/internal/ociruntime"
)

// ContainerUpdate changes a container's resource limits: a running one's
// cgroup through the runtime, and the record's HostConfig for later starts.
func (d *Daemon) ContainerUpdate(ctx context.Context, ref string, u container.UpdateConfig) (container.UpdateResponse, error) {
	r, unlock, err := d.lookupLocked(ref)
	if err != nil {
		return container.UpdateResponse{}, err
	}
	defer unlock()
	if res := updateResources(u.Resources); res != (ociruntime.Resources{}) && (r.State == container.StateRunning || r.State == container.StatePaused) {
		if err := d.runtimeOf(r.ID).Update(ctx, r.ID, res); err != nil {
			return container.UpdateResponse{}, err
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

// updateResources are the runtime's limits for the set fields of res;
// NanoCPUs becomes a quota over a 100ms period.
func updateResources(res container.Resources) ociruntime.Resources {
	o := ociruntime.Resources{
		Memory: res.Memory, MemorySwap: res.MemorySwap, CPUShares: res.CPUShares,
		CPUPeriod: res.CPUPeriod, CPUQuota: res.CPUQuota, CpusetCpus: res.CpusetCpus,
	}
	if res.NanoCPUs != 0 {
		o.CPUPeriod, o.CPUQuota = 100000, res.NanoCPUs*100000/1e9
	}
	if res.PidsLimit != nil {
		o.PidsLimit = *res.PidsLimit
	}
	return o
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
