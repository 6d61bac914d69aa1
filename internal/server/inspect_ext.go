package server

import (
	"context"

	"github.com/moby/moby/api/types/container"
)

// ProcessInfoBackend shows that a container is a process: inspect gains a
// "Pier" object with the host pid of its PID 1, its monitor, its cgroup
// and its namespaces. Docker clients ignore the extra object.
type ProcessInfoBackend interface {
	// ContainerProcessInfo returns the container's cgroup path (relative
	// to each hierarchy's root), and while it runs the host pids of its
	// init and monitor and its namespaces as /proc/PID/ns shows them.
	ContainerProcessInfo(ctx context.Context, ref string) (cgroupPath string, pid, monitorPid int, ns map[string]string, err error)
}

// PierInspect is inspect's "Pier" object.
type PierInspect struct {
	Pid        int               `json:"Pid"`
	MonitorPid int               `json:"MonitorPid"`
	CgroupPath string            `json:"CgroupPath"`
	Namespaces map[string]string `json:"Namespaces"`
}

// inspectResponse is Docker's inspect with pier's object added.
type inspectResponse struct {
	container.InspectResponse
	Pier *PierInspect `json:"Pier,omitempty"`
}

// withProcessInfo adds the Pier object when the backend can tell it.
func (s *Server) withProcessInfo(ctx context.Context, ref string, c container.InspectResponse) any {
	b, ok := s.containers.(ProcessInfoBackend)
	if !ok {
		return c
	}
	cg, pid, mon, ns, err := b.ContainerProcessInfo(ctx, ref)
	if err != nil {
		s.log.Debug("inspect: process info", "container", ref, "err", err)
		return c
	}
	if ns == nil {
		ns = map[string]string{}
	}
	return inspectResponse{InspectResponse: c, Pier: &PierInspect{Pid: pid, MonitorPid: mon, CgroupPath: cg, Namespaces: ns}}
}
