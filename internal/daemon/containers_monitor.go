package daemon

import (
	"sync"

	"github.com/pier-engine/pier/internal/monitor"
)

// monitorPools holds each serving Daemon's pool of parked monitors
// (ParkMonitors). A Daemon without one, as in the package's tests, starts
// every monitor fresh.
var monitorPools sync.Map // *Daemon → *monitor.Pool

// ParkMonitors makes container starts take a parked monitor, started
// ahead and warmed up, when one is ready (monitor.Pool); pierd calls it
// as it starts serving. The function it returns ends and reaps the
// parked monitor; monitors of running containers go on, as ever.
func (d *Daemon) ParkMonitors() (stop func()) {
	p := monitor.NewPool(d.monitorBinary(), nil)
	monitorPools.Store(d, p)
	return func() {
		monitorPools.Delete(d)
		if err := p.Close(); err != nil {
			d.log.Warn("parked monitor", "err", err)
		}
	}
}

// startMonitor starts container's monitor on cfg (written to configPath),
// a parked one if there is one; it returns once the container runs or
// failed to start.
func (d *Daemon) startMonitor(configPath string, cfg monitor.Config) (*monitor.Monitor, error) {
	if p, ok := monitorPools.Load(d); ok {
		return p.(*monitor.Pool).Start(configPath, cfg)
	}
	return monitor.Start(d.monitorBinary(), configPath, cfg, nil)
}

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
