package daemon

import (
	"context"
	"os"
	"os/exec"
	"runtime"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/api/types/system"

	"github.com/pier-engine/pier/internal/version"
)

// otherRuntimes are listed in /info when installed, as a container's
// --runtime will accept them.
var otherRuntimes = []string{"runc", "crun"}

// Info describes the host and the engine's objects.
func (d *Daemon) Info(ctx context.Context) (system.Info, error) {
	h := readHost(d.hostFS)
	name, _ := os.Hostname()
	info := system.Info{
		ID:                 d.id,
		Driver:             "overlay",
		MemoryLimit:        h.controllers["memory"],
		SwapLimit:          h.swap,
		CPUCfsPeriod:       h.cfsQuota,
		CPUCfsQuota:        h.cfsQuota,
		CPUShares:          h.cpuShares,
		CPUSet:             h.controllers["cpuset"],
		PidsLimit:          h.controllers["pids"],
		OomKillDisable:     h.oomKillDisable,
		IPv4Forwarding:     h.ipForward,
		NFd:                countFDs(),
		NGoroutines:        runtime.NumGoroutine(),
		SystemTime:         time.Now().Format(time.RFC3339Nano),
		LoggingDriver:      "json-file",
		CgroupDriver:       "cgroupfs",
		CgroupVersion:      h.cgroupVersion,
		KernelVersion:      h.kernel,
		OperatingSystem:    h.os,
		OSVersion:          h.osVersion,
		OSType:             "linux",
		Architecture:       h.arch,
		IndexServerAddress: "https://index.docker.io/v1/",
		NCPU:               runtime.NumCPU(),
		MemTotal:           h.memTotal,
		DockerRootDir:      d.cfg.Root,
		Name:               name,
		ServerVersion:      version.Version,
		Runtimes:           d.runtimes(),
		DefaultRuntime:     RuntimeName,
		Swarm:              swarm.Info{LocalNodeState: swarm.LocalNodeStateInactive},
		InitBinary:         "pier-init",
		Labels:             []string{},
	}
	if !h.swap {
		info.Warnings = append(info.Warnings, "WARNING: No swap limit support")
	}
	d.countObjects(ctx, &info)
	return info, nil
}

// countObjects fills info's container and image counts as dockerd does:
// containers by state, images as distinct ids (docker images -a).
func (d *Daemon) countObjects(ctx context.Context, info *system.Info) {
	if recs, err := d.containerRecords(); err == nil {
		info.Containers = len(recs)
		for _, r := range recs {
			switch {
			case r.State == container.StateRunning && d.paused(r):
				info.ContainersPaused++
			case r.State == container.StateRunning:
				info.ContainersRunning++
			default:
				info.ContainersStopped++
			}
		}
	}
	if imgs, err := d.ImageList(ctx); err == nil {
		info.Images = len(imgs)
	}
}

func (d *Daemon) runtimes() map[string]system.RuntimeWithStatus {
	out := map[string]system.RuntimeWithStatus{
		RuntimeName: {Runtime: system.Runtime{Path: d.runtime}},
	}
	for _, name := range otherRuntimes {
		if p, err := exec.LookPath(name); err == nil {
			out[name] = system.RuntimeWithStatus{Runtime: system.Runtime{Path: p}}
		}
	}
	return out
}

func countFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0
	}
	return len(ents)
}
