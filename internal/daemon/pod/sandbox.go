package pod

import (
	"fmt"
	"path"
	"strings"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/pier-engine/pier/internal/errdefs"
)

// Kind is the metadata kind of sandbox records; ContainerKind that of the
// CRI's view of a container (the engine keeps its own record as well).
const (
	Kind          = "pods"
	ContainerKind = "cricontainers"
)

// Sandbox is what the engine keeps of a pod sandbox.
type Sandbox struct {
	ID      string                       `json:"id"`
	Config  *runtimeapi.PodSandboxConfig `json:"config"`
	Handler string                       `json:"handler,omitempty"`
	Created time.Time                    `json:"created"`
	Ready   bool                         `json:"ready"`
	// Netns is the bind-mounted network namespace file; empty for
	// hostNetwork pods and once the sandbox is stopped.
	Netns string `json:"netns,omitempty"`
	// Ipcns and Utsns are the pod's bind-mounted IPC and UTS namespace
	// files, which all its containers join; empty for the host's.
	Ipcns string `json:"ipcns,omitempty"`
	Utsns string `json:"utsns,omitempty"`
	// Shm is the pod's /dev/shm, a tmpfs in the pod's directory that every
	// container binds (POSIX shm shared as SysV IPC is); empty for a pod
	// with the host's IPC and once the sandbox is stopped.
	Shm string `json:"shm,omitempty"`
	// Userns is the pod's bind-mounted user namespace file, for a pod
	// with a user namespace of its own (userns_options POD); its net, IPC
	// and UTS namespaces are then owned by it. Empty otherwise and once
	// the sandbox is stopped. UsernsUID and UsernsGID are the host ids of
	// the pod's root, kept until the record goes.
	Userns       string        `json:"userns,omitempty"`
	UsernsUID    uint32        `json:"usernsUid,omitempty"`
	UsernsGID    uint32        `json:"usernsGid,omitempty"`
	IP           string        `json:"ip,omitempty"`
	Ports        []PortMapping `json:"ports,omitempty"`
	CgroupParent string        `json:"cgroupParent"`
}

// Container is the CRI's record of a container in a sandbox; the engine's
// container of the same id runs it.
type Container struct {
	ID          string                        `json:"id"`
	PodID       string                        `json:"podId"`
	Metadata    *runtimeapi.ContainerMetadata `json:"metadata"`
	Image       string                        `json:"image"` // as the kubelet named it
	ImageID     string                        `json:"imageId"`
	Labels      map[string]string             `json:"labels,omitempty"`
	Annotations map[string]string             `json:"annotations,omitempty"`
	LogPath     string                        `json:"logPath,omitempty"` // absolute
	// User is the process identity the container was created with, which
	// ContainerStatus reports.
	User    *runtimeapi.ContainerUser `json:"user,omitempty"`
	Created time.Time                 `json:"created"`
	// ImageVolumes are the container's image volumes, mounted read-only
	// on the host until the container is removed.
	ImageVolumes []ImageVolume `json:"imageVolumes,omitempty"`
}

// ImageVolume is one image mounted read-only for a container (CRI
// Mount.image): its directory on the host and what the kubelet asked for.
type ImageVolume struct {
	Dir           string `json:"dir"`
	Mounted       bool   `json:"mounted"`
	ContainerPath string `json:"containerPath"`
	Image         string `json:"image"`    // as the kubelet named it
	ImageRef      string `json:"imageRef"` // the image's id
}

// HostNetwork says the pod shares the host's network namespace.
func (s *Sandbox) HostNetwork() bool {
	return s.Config.GetLinux().GetSecurityContext().GetNamespaceOptions().GetNetwork() == runtimeapi.NamespaceMode_NODE
}

// CgroupParent maps the kubelet's cgroup parent (cgroupfs driver) under
// pier's own parent, so that pods never write outside it; an empty one
// gets a per-pod directory. A systemd slice is refused: pier drives
// cgroupfs.
func CgroupParent(root, given, id string) (string, error) {
	if given == "" {
		return path.Join(root, "pod-"+id), nil
	}
	if strings.HasSuffix(given, ".slice") {
		return "", fmt.Errorf("config.linux.cgroup_parent %q: a systemd slice; pier uses the cgroupfs driver (kubelet --cgroup-driver=cgroupfs): %w", given, errdefs.ErrInvalidArgument)
	}
	clean := path.Clean("/" + given)
	return path.Join(root, clean), nil
}

// LogPath joins the pod's log directory and the container's log path.
func LogPath(dir, p string) string {
	if p == "" || dir == "" {
		return ""
	}
	return path.Join(dir, p)
}

// MatchLabels says every selector label is in labels.
func MatchLabels(sel, labels map[string]string) bool {
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// Status is the CRI view of s.
func (s *Sandbox) Status() *runtimeapi.PodSandboxStatus {
	st := &runtimeapi.PodSandboxStatus{
		Id: s.ID, Metadata: s.Config.GetMetadata(), State: s.State(), CreatedAt: s.Created.UnixNano(),
		Labels: s.Config.GetLabels(), Annotations: s.Config.GetAnnotations(), RuntimeHandler: s.Handler,
		Linux: &runtimeapi.LinuxPodSandboxStatus{Namespaces: &runtimeapi.Namespace{
			Options: s.Config.GetLinux().GetSecurityContext().GetNamespaceOptions(),
		}},
	}
	if s.IP != "" && !s.HostNetwork() {
		st.Network = &runtimeapi.PodSandboxNetworkStatus{Ip: s.IP}
	} else {
		st.Network = &runtimeapi.PodSandboxNetworkStatus{}
	}
	return st
}

// State is the CRI sandbox state.
func (s *Sandbox) State() runtimeapi.PodSandboxState {
	if s.Ready {
		return runtimeapi.PodSandboxState_SANDBOX_READY
	}
	return runtimeapi.PodSandboxState_SANDBOX_NOTREADY
}

// Summary is the ListPodSandbox entry of s.
func (s *Sandbox) Summary() *runtimeapi.PodSandbox {
	return &runtimeapi.PodSandbox{
		Id: s.ID, Metadata: s.Config.GetMetadata(), State: s.State(), CreatedAt: s.Created.UnixNano(),
		Labels: s.Config.GetLabels(), Annotations: s.Config.GetAnnotations(), RuntimeHandler: s.Handler,
	}
}

// Matches applies a ListPodSandbox filter.
func (s *Sandbox) Matches(f *runtimeapi.PodSandboxFilter) bool {
	if f == nil {
		return true
	}
	if f.GetId() != "" && !strings.HasPrefix(s.ID, f.GetId()) {
		return false
	}
	if f.GetState() != nil && f.GetState().GetState() != s.State() {
		return false
	}
	return MatchLabels(f.GetLabelSelector(), s.Config.GetLabels())
}
