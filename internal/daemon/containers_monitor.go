package daemon

import (
	"path/filepath"

	"github.com/pier-engine/pier/internal/monitor"
)

// monitorConfig is what container r's pier-monitor is told: its runtime,
// bundle, log and status files, and the cgroups whose OOM kills it counts.
func (d *Daemon) monitorConfig(r containerRecord, p ctrPaths) (monitor.Config, error) {
	rt, err := d.runtimeNamed(r.HostConfig.Runtime)
	if err != nil {
		return monitor.Config{}, err
	}
	return monitor.Config{
		Runtime: rt.path, RuntimeRoot: rt.root, RuntimeLog: filepath.Join(p.dir, "runtime.log"),
		ID: r.ID, Bundle: p.bundle, LogPath: p.log, LogOptions: r.HostConfig.LogConfig.Config,
		StatusFile: p.status, PidFile: p.pid, MonitorPidFile: p.monitorPid,
		Cgroups: []string{"/sys/fs/cgroup/memory" + r.CgroupsPath, "/sys/fs/cgroup" + r.CgroupsPath},
	}, nil
}
