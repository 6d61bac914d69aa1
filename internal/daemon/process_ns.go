package daemon

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/moby/moby/api/types/container"

	"github.com/pier-engine/pier/internal/errdefs"
)

// nsTypes are the entries of /proc/PID/ns, in ls's order.
var nsTypes = []string{"cgroup", "ipc", "mnt", "net", "pid", "pid_for_children", "time", "time_for_children", "user", "uts"}

// ContainerNamespaces returns the host pid of a running container's init
// and its namespaces' links as `ls -l /proc/PID/ns` shows them, by type
// ("mnt" -> "mnt:[4026532177]"); a type the kernel lacks is left out.
func (d *Daemon) ContainerNamespaces(ctx context.Context, ref string) (int, map[string]string, error) {
	r, err := d.lookup(ref)
	if err != nil {
		return 0, nil, err
	}
	if r.State != container.StateRunning || r.Pid <= 0 {
		return 0, nil, fmt.Errorf("Container %s is not running: %w", r.ID, errdefs.ErrConflict)
	}
	links, err := nsLinks(r.Pid)
	return r.Pid, links, err
}

func nsLinks(pid int) (map[string]string, error) {
	dir := filepath.Join("/proc", strconv.Itoa(pid), "ns")
	links := map[string]string{}
	for _, t := range nsTypes {
		l, err := os.Readlink(filepath.Join(dir, t))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("readlink %s/%s: %w", dir, t, err)
		}
		links[t] = l
	}
	if len(links) == 0 {
		return nil, fmt.Errorf("container init %d is gone: %w", pid, errdefs.ErrConflict)
	}
	return links, nil
}

// ContainerProcessInfo is what inspect adds to Docker's fields: the
// container's cgroup path, and while it runs the host pids of its init and
// monitor and its namespaces.
func (d *Daemon) ContainerProcessInfo(ctx context.Context, ref string) (string, int, int, map[string]string, error) {
	r, err := d.lookup(ref)
	if err != nil {
		return "", 0, 0, nil, err
	}
	if r.State != container.StateRunning || r.Pid <= 0 {
		return r.CgroupsPath, 0, 0, nil, nil
	}
	links, err := nsLinks(r.Pid)
	if err != nil {
		return r.CgroupsPath, 0, 0, nil, nil // it has just ended
	}
	return r.CgroupsPath, r.Pid, r.MonitorPid, links, nil
}
