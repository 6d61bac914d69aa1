package daemon

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pier-engine/pier/internal/atomicfile"
	"github.com/pier-engine/pier/internal/daemon/pod"
	"github.com/pier-engine/pier/internal/metadata"
	"github.com/pier-engine/pier/internal/monitor"
	"github.com/pier-engine/pier/internal/rootfs"
)

// The exec root (Config.ExecRoot, dockerd's --exec-root) holds what only
// a running container needs and what pierd can make again from the
// records under its root, on a tmpfs:
//
//	containers/<id>/   hostname, hosts, resolv.conf (bind-mounted into
//	                   the container), the monitor's config, pid files,
//	                   exit status and attach socket, the runtime's log,
//	                   exec and probe pid files
//	runtime/           pier-runtime's state root; runtime-<name>/ runc's
//	                   and crun's
//	metadata/          records that mean nothing once the container has
//	                   stopped: health, paused
//
// A container start makes ~20 files; on the root's disk filesystem each
// was an inode allocation (and each rename-over an inode freed), which
// ext4 without a journal makes slow under a burst of starts. The tmpfs
// outlives pierd (a restart or kill -9 finds everything as it was); a
// host reboot empties it, and then the containers that were running are
// recorded as exited (adoptContainers) and their files are written again
// at their next start (ensureRunFiles).

// prepareExecRoot makes the exec root, on a tmpfs when pierd runs as root
// (a test's daemon that is not root keeps a plain directory): the one
// given is mounted itself, the default ones share a tmpfs on their parent,
// which the last of them to exit with no container takes down. Then it
// opens the volatile records.
func (d *Daemon) prepareExecRoot() error {
	if os.Geteuid() == 0 {
		if _, err := rootfs.MountExecRoot(d.cfg.execRootMount(), d.execRoot); err != nil {
			return err
		}
	} else if err := os.MkdirAll(d.execRoot, 0o711); err != nil {
		return fmt.Errorf("exec root: %w", err)
	}
	var err error
	d.vmd, err = metadata.Open(filepath.Join(d.execRoot, "metadata"))
	return err
}

// ExecRoot is the daemon's exec root.
func (d *Daemon) ExecRoot() string { return d.execRoot }

// ensureRunFiles remakes, before a start, the exec-root files of a
// container whose exec root was emptied (a host reboot): its directory and
// /etc/hostname, hosts and resolv.conf as create wrote them (the network's
// start rewrites the last two for its addresses).
func (d *Daemon) ensureRunFiles(r containerRecord, p ctrPaths) error {
	if _, err := os.Stat(p.hostname); err == nil {
		return nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("container %s: %w", r.ID, err)
	}
	return writeRunFiles(r.ID, r.Config, r.HostConfig, p)
}

// runtimeRoot is pier-runtime's state root.
func (d *Daemon) runtimeRoot() string { return filepath.Join(d.execRoot, "runtime") }

// prepareRun readies the exec-root files of container r for a start: the
// previous run's pid files and status go, and what a reboot or an older
// pierd's layout took away is made again.
func (d *Daemon) prepareRun(r containerRecord, p ctrPaths) error {
	for _, f := range []string{p.status, p.pid, p.monitorPid} {
		_ = os.Remove(f)
	}
	if err := d.ensureRunFiles(r, p); err != nil {
		return err
	}
	return d.migrateLegacyFiles(r, p)
}

// removeCtrDirs removes a container's directories, under the root and
// under the exec root.
func removeCtrDirs(p ctrPaths) error {
	return errors.Join(os.RemoveAll(p.dir), os.RemoveAll(p.run))
}

// monitorGone tells whether container r's monitor is no longer there to
// write its end: its process is gone, or its pid file is (the exec root
// was emptied by a reboot, after which the pid may be another process's).
func monitorGone(r containerRecord, p ctrPaths) bool {
	if !alive(r.MonitorPid) {
		return true
	}
	for _, f := range []string{p.monitorPid, filepath.Join(p.dir, "monitor.pid")} {
		if pid, err := monitor.ReadPid(f); err == nil && pid == r.MonitorPid {
			return false
		}
	}
	return true
}

// legacyRunFiles are what a pierd before the exec root kept in a
// container's directory under the root.
var legacyRunFiles = []string{"hostname", "hosts", "resolv.conf", "status.json", "init.pid", "monitor.pid",
	"monitor.json", "runtime.log", "attach.sock", "exec"}

// migrateLegacyFiles moves a stopped container that an older pierd made
// to the exec root: its spec's binds of /etc/hostname, hosts and
// resolv.conf are pointed at the exec root's files (ensureRunFiles made
// them), and the old files go. The spec is edited as plain JSON so that
// nothing pier's types do not know is lost.
func (d *Daemon) migrateLegacyFiles(r containerRecord, p ctrPaths) error {
	if _, err := os.Lstat(filepath.Join(p.dir, "hostname")); err != nil {
		return nil
	}
	b, err := os.ReadFile(p.config)
	if err != nil {
		return fmt.Errorf("container %s: %w", r.ID, err)
	}
	var spec map[string]any
	if err := json.Unmarshal(b, &spec); err != nil {
		return fmt.Errorf("container %s: spec: %w", r.ID, err)
	}
	moved := map[string]string{filepath.Join(p.dir, "hostname"): p.hostname,
		filepath.Join(p.dir, "hosts"): p.hosts, filepath.Join(p.dir, "resolv.conf"): p.resolvConf}
	mounts, _ := spec["mounts"].([]any)
	for _, m := range mounts {
		if m, ok := m.(map[string]any); ok {
			if src, ok := m["source"].(string); ok && moved[src] != "" {
				m["source"] = moved[src]
			}
		}
	}
	if b, err = json.Marshal(spec); err != nil {
		return fmt.Errorf("container %s: spec: %w", r.ID, err)
	}
	if err := atomicfile.WriteFile(p.config, b, 0o600); err != nil {
		return fmt.Errorf("container %s: %w", r.ID, err)
	}
	for _, f := range legacyRunFiles {
		_ = os.RemoveAll(filepath.Join(p.dir, f))
	}
	d.log.Info("container moved to the exec root", "container_id", r.ID, "exec_root", d.execRoot)
	return nil
}

// sweepRunDirs removes the exec-root directories of containers that have
// no record: a remove that pierd did not finish.
func (d *Daemon) sweepRunDirs(known map[string]bool) {
	ents, _ := os.ReadDir(filepath.Join(d.execRoot, "containers"))
	for _, e := range ents {
		if containerIDPattern.MatchString(e.Name()) && !known[e.Name()] {
			d.sweepRemove("exec-root directory without a container", d.paths(e.Name()).run)
		}
	}
}

// ReleaseExecRoot is called as pierd exits: when it has no container, no
// file in the exec root is needed any more, and the exec root goes (with
// the tmpfs under it once no other daemon's exec root is there), so that
// a daemon started for a while, as tests and benches start them, leaves
// nothing behind. With
// containers everything stays, for them and for the next pierd.
func (d *Daemon) ReleaseExecRoot() {
	d.removals.Wait() // removed containers' files, deleted in the background
	for _, kind := range []string{containerKind, pod.Kind, pod.ContainerKind} {
		if ids, err := d.md.List(kind); err != nil || len(ids) > 0 {
			return
		}
	}
	if os.Geteuid() != 0 {
		if err := os.RemoveAll(d.execRoot); err != nil {
			d.log.Warn("exec root", "err", err)
		}
		return
	}
	if err := rootfs.ReleaseExecRoot(d.cfg.execRootMount(), d.execRoot); err != nil {
		d.log.Warn("exec root", "err", err)
	}
}
