package specgen

import (
	"errors"
	"fmt"
	"strings"

	"github.com/moby/moby/api/types/container"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/pier-engine/pier/internal/errdefs"
)

// nsMode is one namespace's setting: shared with the host, joined from
// another container, or new.
type nsMode struct {
	field     string // HostConfig field, for errors
	kind      specs.LinuxNamespaceType
	file      string // name under /proc/<pid>/ns
	host      bool
	container string // id or name for container:<x>
	path      string // a namespace file to join
}

func setNamespaces(in Input, s *specs.Spec) error {
	hc := in.HostConfig
	net, err := networkMode(hc.NetworkMode, in.NetnsPath)
	if err != nil {
		return err
	}
	cgroupns := hc.CgroupnsMode
	if cgroupns.IsEmpty() {
		cgroupns = in.DefaultCgroupns
	}
	if !cgroupns.Valid() {
		return invalid("HostConfig.CgroupnsMode", fmt.Errorf("invalid mode %q", cgroupns))
	}
	if !hc.UsernsMode.Valid() {
		return invalid("HostConfig.UsernsMode", fmt.Errorf("user namespaces (%q) are not supported yet", hc.UsernsMode))
	}
	if !hc.IpcMode.Valid() || (hc.IpcMode.IsContainer() && hc.IpcMode.Container() == "") {
		return invalid("HostConfig.IpcMode", fmt.Errorf("invalid mode %q", hc.IpcMode))
	}
	// Docker has no container:<x> UTS mode; pier joins another container's
	// hostname as it joins its IPC or PID namespace.
	utsContainer, isUTSContainer := strings.CutPrefix(string(hc.UTSMode), "container:")
	if !hc.PidMode.Valid() || (!hc.UTSMode.Valid() && (!isUTSContainer || utsContainer == "")) {
		return invalid("HostConfig.PidMode/UTSMode", fmt.Errorf("invalid mode %q/%q", hc.PidMode, hc.UTSMode))
	}
	s.Linux.Namespaces = []specs.LinuxNamespace{{Type: specs.MountNamespace}}
	modes := []nsMode{
		net,
		{field: "HostConfig.PidMode", kind: specs.PIDNamespace, file: "pid", host: hc.PidMode.IsHost(), container: hc.PidMode.Container()},
		{field: "HostConfig.IpcMode", kind: specs.IPCNamespace, file: "ipc", host: hc.IpcMode.IsHost(), container: hc.IpcMode.Container()},
		{field: "HostConfig.UTSMode", kind: specs.UTSNamespace, file: "uts", host: hc.UTSMode.IsHost(), container: utsContainer},
		{field: "HostConfig.CgroupnsMode", kind: specs.CgroupNamespace, host: cgroupns.IsHost()},
	}
	for _, m := range modes {
		if m.host {
			continue
		}
		ns, err := namespace(in, m)
		if err != nil {
			return err
		}
		s.Linux.Namespaces = append(s.Linux.Namespaces, ns)
	}
	return nil
}

// networkMode maps NetworkMode to a namespace. The bridge and user-defined
// networks join netnsPath, the namespace the engine wires before the start;
// without one, "bridge", "default" and "" get a new namespace holding only
// lo, like "none", and user-defined networks are refused.
func networkMode(m container.NetworkMode, netnsPath string) (nsMode, error) {
	ns := nsMode{field: "HostConfig.NetworkMode", kind: specs.NetworkNamespace, file: "net"}
	switch {
	case m.IsHost():
		ns.host = true
	case m.IsContainer():
		ns.container = m.ConnectedContainer()
		if ns.container == "" {
			return ns, invalid(ns.field, fmt.Errorf("invalid mode %q", m))
		}
	case m.IsNone():
	case netnsPath != "":
		ns.path = netnsPath
	case m == "", m.IsBridge(), m.IsDefault():
	default:
		return ns, fmt.Errorf("%s: network %q: %w", ns.field, m, errdefs.ErrNotImplemented)
	}
	return ns, nil
}

func namespace(in Input, m nsMode) (specs.LinuxNamespace, error) {
	ns := specs.LinuxNamespace{Type: m.kind, Path: m.path}
	if m.container == "" {
		return ns, nil
	}
	if in.ContainerPID == nil {
		return ns, invalid(m.field, errors.New("container modes need Input.ContainerPID"))
	}
	pid, err := in.ContainerPID(m.container)
	if err != nil {
		return ns, fmt.Errorf("%s: container %s: %w", m.field, m.container, err)
	}
	ns.Path = fmt.Sprintf("/proc/%d/ns/%s", pid, m.file)
	return ns, nil
}
