package server

import (
	"net/http"

	"github.com/moby/moby/api/types/container"
)

// inspect gains a "Pier" object that shows the container is a process:
// the host pid of its PID 1, its monitor, its cgroup and its namespaces.
// Docker clients ignore the extra object.

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
func (cr *containerRouter) withProcessInfo(r *http.Request, c container.InspectResponse) any {
	cg, pid, mon, ns, err := cr.b.ContainerProcessInfo(r.Context(), c.ID)
	if err != nil {
		cr.log.Debug("inspect: process info", "container_id", c.ID, "err", err)
		return c
	}
	if ns == nil {
		ns = map[string]string{}
	}
	return inspectResponse{InspectResponse: c, Pier: &PierInspect{Pid: pid, MonitorPid: mon, CgroupPath: cg, Namespaces: ns}}
}
