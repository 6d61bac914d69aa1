package server

import (
	"net/http"
	"net/netip"

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

// inspectResponse is Docker's inspect with pier's object added, and
// before API 1.44 the NetworkSettings fields dockerd then still sent.
type inspectResponse struct {
	container.InspectResponse
	NetworkSettings any          `json:"NetworkSettings"`
	Pier            *PierInspect `json:"Pier,omitempty"`
}

// legacyNetworkSettings adds the top-level fields of the container's
// primary network that dockerd sends before API 1.44 (docker-py reads
// NetworkSettings.MacAddress and .IPAddress).
type legacyNetworkSettings struct {
	*container.NetworkSettings
	EndpointID          string
	Gateway             string
	GlobalIPv6Address   string
	GlobalIPv6PrefixLen int
	IPAddress           string
	IPPrefixLen         int
	IPv6Gateway         string
	MacAddress          string
}

// withProcessInfo adds the Pier object when the backend can tell it.
func (cr *containerRouter) withProcessInfo(r *http.Request, c container.InspectResponse) any {
	out := inspectResponse{InspectResponse: c, NetworkSettings: networkSettingsFor(r, c)}
	cg, pid, mon, ns, err := cr.b.ContainerProcessInfo(r.Context(), c.ID)
	if err != nil {
		cr.log.Debug("inspect: process info", "container_id", c.ID, "err", err)
		return out
	}
	if ns == nil {
		ns = map[string]string{}
	}
	out.Pier = &PierInspect{Pid: pid, MonitorPid: mon, CgroupPath: cg, Namespaces: ns}
	return out
}

// networkSettingsFor is c's NetworkSettings as the request's API version
// has them.
func networkSettingsFor(r *http.Request, c container.InspectResponse) any {
	if c.NetworkSettings == nil || compareVersions(requestVersion(r), "1.44") >= 0 {
		return c.NetworkSettings
	}
	l := legacyNetworkSettings{NetworkSettings: c.NetworkSettings}
	primary := "bridge"
	if c.HostConfig != nil && c.HostConfig.NetworkMode != "" && c.HostConfig.NetworkMode != "default" {
		primary = string(c.HostConfig.NetworkMode)
	}
	ep := c.NetworkSettings.Networks[primary]
	if ep == nil {
		return l
	}
	l.EndpointID, l.Gateway, l.IPPrefixLen = ep.EndpointID, addrString(ep.Gateway), ep.IPPrefixLen
	l.IPAddress, l.MacAddress = addrString(ep.IPAddress), ep.MacAddress.String()
	l.GlobalIPv6Address, l.GlobalIPv6PrefixLen, l.IPv6Gateway = addrString(ep.GlobalIPv6Address), ep.GlobalIPv6PrefixLen, addrString(ep.IPv6Gateway)
	return l
}

// addrString is an address as dockerd prints it: "" when unset.
func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}
