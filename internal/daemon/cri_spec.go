package daemon

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/container"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/pier-engine/pier/internal/daemon/pod"
	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/rootfs"
)

// dockerRequest translates a CRI container config into the engine's create
// request, so that specgen builds the spec as for any container. The pod's
// network namespace is joined afterwards (joinPod).
func (c *CRI) dockerRequest(s *pod.Sandbox, cfg *runtimeapi.ContainerConfig, imageID string) (container.CreateRequest, error) {
	lc := cfg.GetLinux()
	sc := lc.GetSecurityContext()
	podNS := s.Config.GetLinux().GetSecurityContext().GetNamespaceOptions()
	noInit := false
	cc := &container.Config{
		Image: imageID, Entrypoint: cfg.GetCommand(), Cmd: cfg.GetArgs(), WorkingDir: cfg.GetWorkingDir(),
		Tty: cfg.GetTty(), OpenStdin: cfg.GetStdin(), StdinOnce: cfg.GetStdinOnce(),
		AttachStdin: cfg.GetStdin(), AttachStdout: true, AttachStderr: !cfg.GetTty(),
		Hostname: s.Config.GetHostname(), Labels: map[string]string{criLabel: s.ID},
	}
	for _, kv := range cfg.GetEnvs() {
		if kv.GetKey() == "" {
			return container.CreateRequest{}, fmt.Errorf("config.envs: empty key: %w", errdefs.ErrInvalidArgument)
		}
		cc.Env = append(cc.Env, kv.GetKey()+"="+string(kv.GetValue()))
	}
	user, err := criUser(sc)
	if err != nil {
		return container.CreateRequest{}, err
	}
	cc.User = user
	hc := &container.HostConfig{
		Init: &noInit, Privileged: sc.GetPrivileged(), ReadonlyRootfs: sc.GetReadonlyRootfs(),
		Sysctls:     s.Config.GetLinux().GetSysctls(),
		NetworkMode: "none", LogConfig: container.LogConfig{Type: "json-file", Config: map[string]string{"format": "cri", "max-size": "-1"}},
	}
	if podNS.GetNetwork() == runtimeapi.NamespaceMode_NODE {
		hc.NetworkMode, hc.UTSMode = "host", "host"
		cc.Hostname = ""
	}
	if podNS.GetIpc() == runtimeapi.NamespaceMode_NODE {
		hc.IpcMode = "host"
	}
	switch {
	case podNS.GetPid() == runtimeapi.NamespaceMode_NODE || sc.GetNamespaceOptions().GetPid() == runtimeapi.NamespaceMode_NODE:
		hc.PidMode = "host"
	case podNS.GetPid() == runtimeapi.NamespaceMode_POD && sc.GetNamespaceOptions().GetPid() == runtimeapi.NamespaceMode_POD:
		// No pause process holds the pod's PID namespace: the first
		// container's, with pier-init as its pid 1, is the pod's, and
		// later containers join it while it runs.
		if first := c.podPIDHolder(s.ID); first != "" {
			hc.PidMode = container.PidMode("container:" + first)
		} else {
			yes := true
			hc.Init = &yes
		}
	}
	if sc.GetNamespaceOptions().GetPid() == runtimeapi.NamespaceMode_TARGET {
		return container.CreateRequest{}, fmt.Errorf("config.linux.security_context.namespace_options.pid: TARGET: %w", errdefs.ErrNotImplemented)
	}
	if err := securityOpts(hc, sc); err != nil {
		return container.CreateRequest{}, err
	}
	hc.CapAdd, hc.CapDrop = sc.GetCapabilities().GetAddCapabilities(), sc.GetCapabilities().GetDropCapabilities()
	for _, g := range sc.GetSupplementalGroups() {
		hc.GroupAdd = append(hc.GroupAdd, strconv.FormatInt(g, 10))
	}
	hc.MaskedPaths, hc.ReadonlyPaths = sc.GetMaskedPaths(), sc.GetReadonlyPaths()
	if sc.GetPrivileged() {
		hc.MaskedPaths, hc.ReadonlyPaths = nil, nil
	}
	for _, m := range cfg.GetMounts() {
		if m.GetSelinuxRelabel() && hostHasSELinux() {
			return container.CreateRequest{}, fmt.Errorf("config.mounts.selinux_relabel: %w", errdefs.ErrNotImplemented)
		}
		if err := checkMountIDMap(s, m); err != nil {
			return container.CreateRequest{}, err
		}
		if _, err := os.Stat(m.GetHostPath()); err != nil {
			return container.CreateRequest{}, fmt.Errorf("config.mounts.host_path %q: %w: %w", m.GetHostPath(), err, errdefs.ErrInvalidArgument)
		}
		if m.GetRecursiveReadOnly() {
			if err := checkRecursiveReadOnly(m); err != nil {
				return container.CreateRequest{}, err
			}
		}
		opt := "rw"
		if m.GetReadonly() {
			opt = "ro"
		}
		switch m.GetPropagation() {
		case runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER:
			opt += ",rslave"
		case runtimeapi.MountPropagation_PROPAGATION_BIDIRECTIONAL:
			opt += ",rshared"
		}
		hc.Binds = append(hc.Binds, m.GetHostPath()+":"+m.GetContainerPath()+":"+opt)
	}
	for _, d := range cfg.GetDevices() {
		hc.Devices = append(hc.Devices, container.DeviceMapping{PathOnHost: d.GetHostPath(), PathInContainer: d.GetContainerPath(), CgroupPermissions: d.GetPermissions()})
	}
	if r := lc.GetResources(); r != nil {
		hc.Resources = resources(r)
		hc.OomScoreAdj = clampOOMScoreAdj(int(r.GetOomScoreAdj()))
	}
	hc.CgroupParent = s.CgroupParent
	return container.CreateRequest{Config: cc, HostConfig: hc}, nil
}

// checkRecursiveReadOnly: a recursive read-only mount must be read-only and
// private (a mount propagated into it later could not be made read-only),
// and needs mount_setattr, as the CRI says.
func checkRecursiveReadOnly(m *runtimeapi.Mount) error {
	const field = "config.mounts.recursive_read_only"
	switch {
	case !m.GetReadonly():
		return fmt.Errorf("%s on %s: needs readonly: %w", field, m.GetContainerPath(), errdefs.ErrInvalidArgument)
	case m.GetPropagation() != runtimeapi.MountPropagation_PROPAGATION_PRIVATE:
		return fmt.Errorf("%s on %s: needs private propagation, not %s: %w", field, m.GetContainerPath(), m.GetPropagation(), errdefs.ErrInvalidArgument)
	case !rootfs.HasMountSetattr():
		return fmt.Errorf("%s on %s: this kernel has no mount_setattr (5.12): %w", field, m.GetContainerPath(), errdefs.ErrNotImplemented)
	}
	return nil
}

// recursiveReadOnly adds "rro" to the spec's binds the CRI asked to be
// recursively read-only (the engine's bind syntax has no word for it).
func recursiveReadOnly(spec *specs.Spec, mounts []*runtimeapi.Mount) {
	for _, m := range mounts {
		if !m.GetRecursiveReadOnly() {
			continue
		}
		for i := range spec.Mounts {
			if spec.Mounts[i].Destination == m.GetContainerPath() && spec.Mounts[i].Type == "bind" {
				spec.Mounts[i].Options = append(spec.Mounts[i].Options, "rro")
			}
		}
	}
}

// criUser is the run-as user: uid or name, then the group.
func criUser(sc *runtimeapi.LinuxContainerSecurityContext) (string, error) {
	var u string
	switch {
	case sc.GetRunAsUser() != nil:
		u = strconv.FormatInt(sc.GetRunAsUser().GetValue(), 10)
	case sc.GetRunAsUsername() != "":
		u = sc.GetRunAsUsername()
	}
	if sc.GetRunAsGroup() != nil {
		if u == "" {
			return "", fmt.Errorf("config.linux.security_context.run_as_group: needs run_as_user or run_as_username: %w", errdefs.ErrInvalidArgument)
		}
		u += ":" + strconv.FormatInt(sc.GetRunAsGroup().GetValue(), 10)
	}
	return u, nil
}

// securityOpts maps seccomp, AppArmor, SELinux and no_new_privs.
func securityOpts(hc *container.HostConfig, sc *runtimeapi.LinuxContainerSecurityContext) error {
	if sc.GetSelinuxOptions() != nil && !hostHasSELinux() {
		return fmt.Errorf("config.linux.security_context.selinux_options: SELinux is not enabled on this host: %w", errdefs.ErrNotImplemented)
	}
	if aa := sc.GetApparmor(); aa != nil && aa.GetProfileType() != runtimeapi.SecurityProfile_Unconfined && !hostHasAppArmor() {
		return fmt.Errorf("config.linux.security_context.apparmor: AppArmor is not enabled on this host: %w", errdefs.ErrNotImplemented)
	}
	if sc.GetNoNewPrivs() {
		hc.SecurityOpt = append(hc.SecurityOpt, "no-new-privileges")
	}
	sp := sc.GetSeccomp()
	switch {
	case sc.GetPrivileged():
		hc.SecurityOpt = append(hc.SecurityOpt, "seccomp=unconfined")
	case sp == nil || sp.GetProfileType() == runtimeapi.SecurityProfile_Unconfined:
		// the kubelet's default is unconfined
		hc.SecurityOpt = append(hc.SecurityOpt, "seccomp=unconfined")
	case sp.GetProfileType() == runtimeapi.SecurityProfile_RuntimeDefault:
		// specgen's default: Docker's profile
	case sp.GetProfileType() == runtimeapi.SecurityProfile_Localhost:
		b, err := os.ReadFile(sp.GetLocalhostRef())
		if err != nil {
			return fmt.Errorf("config.linux.security_context.seccomp.localhost_ref: %w: %w", err, errdefs.ErrInvalidArgument)
		}
		hc.SecurityOpt = append(hc.SecurityOpt, "seccomp="+string(b))
	}
	return nil
}

// resources maps the CRI's limits.
func resources(r *runtimeapi.LinuxContainerResources) container.Resources {
	res := container.Resources{
		CPUShares: r.GetCpuShares(), CPUPeriod: r.GetCpuPeriod(), CPUQuota: r.GetCpuQuota(),
		Memory: r.GetMemoryLimitInBytes(), CpusetCpus: r.GetCpusetCpus(), CpusetMems: r.GetCpusetMems(),
	}
	if r.GetMemorySwapLimitInBytes() > 0 {
		res.MemorySwap = r.GetMemorySwapLimitInBytes()
	}
	return res
}

// clampOOMScoreAdj raises a score below pierd's own to it: lowering it
// needs CAP_SYS_RESOURCE, which root lacks on some hosts (this one). The
// kubelet asks for -997 for guaranteed pods; containerd's
// restrict_oom_score_adj does the same.
func clampOOMScoreAdj(v int) int {
	b, err := os.ReadFile("/proc/self/oom_score_adj")
	if err != nil {
		return v
	}
	own, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err == nil && v < own {
		return own
	}
	return v
}
