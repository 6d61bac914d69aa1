package daemon

import (
	"github.com/pier-engine/pier/internal/monitor"
)

// monitorConfig is what container r's pier-monitor is told: its runtime,
// bundle, log and status files, the cgroups whose OOM kills it counts, its
// terminal and stdin, and its attach socket. It is called as the monitor
// is launched, so it also hands over the clients waiting for this start.
func (d *Daemon) monitorConfig(r containerRecord, p ctrPaths) (monitor.Config, error) {
	rt, err := d.runtimeCLI(r.HostConfig.Runtime)
	if err != nil {
		return monitor.Config{}, err
	}
	cfg := monitor.Config{
		Runtime: rt.Path, RuntimeRoot: rt.Root, RuntimeLog: p.rtLog,
		ID: r.ID, Bundle: p.bundle, LogPath: p.log, LogOptions: r.HostConfig.LogConfig.Config,
		StatusFile: p.status, PidFile: p.pid, MonitorPidFile: p.monitorPid,
		Cgroups:      []string{"/sys/fs/cgroup/memory" + r.CgroupsPath, "/sys/fs/cgroup" + r.CgroupsPath},
		AttachSocket: d.attachSocket(r.ID),
	}
	if rt.Name == RuntimeName {
		cfg.RuntimeExe = rt.Path // the monitor drives pier-runtime in-process
	}
	cfg.InitReady = usesInit(r.HostConfig)
	if c := r.Config; c != nil {
		cfg.Tty, cfg.OpenStdin, cfg.StdinOnce = c.Tty, c.OpenStdin, c.StdinOnce
	}
	cfg.AttachWait = d.takeAttachWaits(r.ID)
	d.criMonitorConfig(r, &cfg)
	return cfg, nil
}
