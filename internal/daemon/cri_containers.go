package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/pier-engine/pier/internal/atomicfile"
	"github.com/pier-engine/pier/internal/daemon/pod"
	"github.com/pier-engine/pier/internal/errdefs"
)

// CreateContainer makes the engine's container from the CRI config, with
// the pod's namespaces, cgroup parent, DNS and log file, and the CRI's
// record of it.
func (c *CRI) CreateContainer(ctx context.Context, podID string, cfg *runtimeapi.ContainerConfig, _ *runtimeapi.PodSandboxConfig) (_ string, err error) {
	s, err := c.sandbox(podID)
	if err != nil {
		return "", err
	}
	if !s.Ready {
		return "", fmt.Errorf("pod sandbox %s is not ready: %w", s.ID, errdefs.ErrConflict)
	}
	img, err := c.d.images.Get(cfg.GetImage().GetImage())
	if err != nil {
		return "", fmt.Errorf("config.image.image %s: %w", cfg.GetImage().GetImage(), err)
	}
	cfg, vols, err := c.imageVolumes(cfg)
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			_ = c.removeImageVolumes(vols)
		}
	}()
	req, err := c.dockerRequest(s, cfg, img.ID)
	if err != nil {
		return "", err
	}
	m := cfg.GetMetadata()
	name := fmt.Sprintf("k8s_%s_%s_%d", m.GetName(), s.ID[:12], m.GetAttempt())
	if !validName.MatchString(name) {
		return "", fmt.Errorf("config.metadata.name %q: not a valid container name: %w", m.GetName(), errdefs.ErrInvalidArgument)
	}
	resp, err := c.d.ContainerCreate(ctx, name, req)
	if err != nil {
		return "", err
	}
	id := resp.ID
	rec := &pod.Container{
		ID: id, PodID: s.ID, Metadata: m, Image: cfg.GetImage().GetImage(), ImageID: img.ID,
		Labels: cfg.GetLabels(), Annotations: cfg.GetAnnotations(),
		LogPath: pod.LogPath(s.Config.GetLogDirectory(), cfg.GetLogPath()), Created: time.Now().UTC(),
		ImageVolumes: vols,
	}
	user, err := c.joinPod(id, s, cfg)
	if err == nil {
		rec.User = user
		err = c.d.md.Create(pod.ContainerKind, id, rec)
	}
	if err != nil {
		_ = c.d.ContainerRemove(context.WithoutCancel(ctx), id, true)
		_ = c.unbindIDMapped(id)
		return "", err
	}
	return id, nil
}

// joinPod points the container's spec at the pod's network, IPC and UTS
// namespaces (and its user namespace, when it has one) and its /dev/shm,
// makes the binds asked for recursively read-only, and gives the
// container the pod's resolv.conf.
func (c *CRI) joinPod(id string, s *pod.Sandbox, cfg *runtimeapi.ContainerConfig) (*runtimeapi.ContainerUser, error) {
	p := c.d.paths(id)
	b, err := os.ReadFile(p.config)
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", id, err)
	}
	var spec specs.Spec
	if err := json.Unmarshal(b, &spec); err != nil {
		return nil, fmt.Errorf("container %s: spec: %w", id, err)
	}
	user := supplementalGroups(&spec, cfg.GetLinux().GetSecurityContext())
	podNS := map[specs.LinuxNamespaceType]string{
		specs.NetworkNamespace: s.Netns, specs.IPCNamespace: s.Ipcns, specs.UTSNamespace: s.Utsns,
	}
	usePodShm(&spec, s.Shm)
	recursiveReadOnly(&spec, cfg.GetMounts())
	if spec.Linux != nil {
		for i, ns := range spec.Linux.Namespaces {
			// a container of a pod joins the pod's namespaces where it
			// would have had new ones (not the host's, nor another
			// container's)
			if p := podNS[ns.Type]; p != "" && ns.Path == "" {
				spec.Linux.Namespaces[i].Path = p
			}
		}
	}
	if err := c.joinPodUserns(&spec, id, s, cfg.GetMounts()); err != nil {
		return nil, err
	}
	if b, err = json.Marshal(&spec); err != nil {
		return nil, fmt.Errorf("container %s: spec: %w", id, err)
	}
	if err := atomicfile.WriteFile(p.config, b, 0o600); err != nil {
		return nil, fmt.Errorf("container %s: %w", id, err)
	}
	rc, err := os.ReadFile(c.d.criDir("pods", s.ID, "resolv.conf"))
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", id, err)
	}
	return user, os.WriteFile(p.resolvConf, rc, 0o644) // keeps the owner joinPodUserns gave it
}

// supplementalGroups applies the SupplementalGroupsPolicy and returns the
// process identity. Merge (the default) keeps what specgen found: the
// groups the image's /etc/group gives the user, then the CRI's
// supplemental groups. Strict keeps only the CRI's. The primary gid is
// among the supplementary groups, as the CRI reports them.
func supplementalGroups(spec *specs.Spec, sc *runtimeapi.LinuxContainerSecurityContext) *runtimeapi.ContainerUser {
	if spec.Process == nil {
		return nil
	}
	u := &spec.Process.User
	if sc.GetSupplementalGroupsPolicy() == runtimeapi.SupplementalGroupsPolicy_Strict {
		u.AdditionalGids = nil
		for _, g := range sc.GetSupplementalGroups() {
			u.AdditionalGids = append(u.AdditionalGids, uint32(g))
		}
	}
	groups := []int64{int64(u.GID)}
	for _, g := range u.AdditionalGids {
		if !slices.Contains(groups, int64(g)) {
			groups = append(groups, int64(g))
		}
	}
	return &runtimeapi.ContainerUser{Linux: &runtimeapi.LinuxContainerUser{Uid: int64(u.UID), Gid: int64(u.GID), SupplementalGroups: groups}}
}

// usePodShm replaces specgen's own /dev/shm tmpfs with a bind of the
// pod's (nothing when shm is ""). A volume the kubelet mounts on /dev/shm
// (an emptyDir of medium Memory) stays.
func usePodShm(spec *specs.Spec, shm string) {
	if shm == "" {
		return
	}
	for i, m := range spec.Mounts {
		if m.Destination == "/dev/shm" && m.Type == "tmpfs" && m.Source == "shm" {
			spec.Mounts[i] = specs.Mount{Destination: "/dev/shm", Type: "bind", Source: shm,
				Options: []string{"rbind", "nosuid", "noexec", "nodev"}}
		}
	}
}

func (c *CRI) criContainer(id string) (*pod.Container, containerRecord, error) {
	var rec pod.Container
	var r containerRecord
	err := c.d.md.Get(pod.ContainerKind, id, &rec)
	if errors.Is(err, errdefs.ErrNotFound) {
		// a unique prefix, as crictl allows
		ids, _ := c.d.md.List(pod.ContainerKind)
		var found []string
		for _, x := range ids {
			if strings.HasPrefix(x, id) {
				found = append(found, x)
			}
		}
		if len(found) == 1 {
			return c.criContainer(found[0])
		}
		return nil, r, fmt.Errorf("container %s: %w", id, errdefs.ErrNotFound)
	}
	if err != nil {
		return nil, r, err
	}
	if err := c.d.md.Get(containerKind, rec.ID, &r); err != nil {
		return nil, r, fmt.Errorf("container %s: %w", id, err)
	}
	return &rec, r, nil
}

// StartContainer starts it; its log goes to the kubelet's path.
func (c *CRI) StartContainer(ctx context.Context, id string) error {
	rec, _, err := c.criContainer(id)
	if err != nil {
		return err
	}
	if s, err := c.sandbox(rec.PodID); err != nil || !s.Ready {
		return fmt.Errorf("container %s: pod sandbox %s is not ready: %w", id, rec.PodID, errdefs.ErrConflict)
	}
	if rec.LogPath != "" {
		if err := os.MkdirAll(filepath.Dir(rec.LogPath), 0o755); err != nil {
			return fmt.Errorf("container %s: log directory: %w", id, err)
		}
	}
	return c.d.ContainerStart(ctx, rec.ID)
}

// StopContainer stops it: the stop signal, then SIGKILL after timeout s.
func (c *CRI) StopContainer(ctx context.Context, id string, timeout int64) error {
	rec, r, err := c.criContainer(id)
	if err != nil {
		return err
	}
	if r.State != container.StateRunning {
		return nil
	}
	t := int(timeout)
	return c.d.ContainerStop(ctx, rec.ID, &t)
}

// RemoveContainer kills it if needed and removes both records.
func (c *CRI) RemoveContainer(ctx context.Context, id string) error {
	rec, _, err := c.criContainer(id)
	if err != nil {
		return err
	}
	if err := c.d.ContainerRemove(ctx, rec.ID, true); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
		return err
	}
	if err := c.unbindIDMapped(rec.ID); err != nil {
		return fmt.Errorf("container %s: %w", rec.ID, err)
	}
	if err := c.d.md.Delete(pod.ContainerKind, rec.ID); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
		return err
	}
	c.rates.forget(rec.ID)
	return c.removeImageVolumes(rec.ImageVolumes)
}

// podContainers lists the CRI records of a pod's containers.
func (c *CRI) podContainers(podID string) []*pod.Container {
	ids, _ := c.d.md.List(pod.ContainerKind)
	var out []*pod.Container
	for _, id := range ids {
		var rec pod.Container
		if c.d.md.Get(pod.ContainerKind, id, &rec) == nil && rec.PodID == podID {
			out = append(out, &rec)
		}
	}
	return out
}

func criState(r containerRecord) runtimeapi.ContainerState {
	switch r.State {
	case container.StateCreated:
		return runtimeapi.ContainerState_CONTAINER_CREATED
	case container.StateRunning, container.StatePaused:
		return runtimeapi.ContainerState_CONTAINER_RUNNING
	case container.StateExited, container.StateDead:
		return runtimeapi.ContainerState_CONTAINER_EXITED
	}
	return runtimeapi.ContainerState_CONTAINER_UNKNOWN
}

// ListContainers lists the CRI containers f selects.
func (c *CRI) ListContainers(ctx context.Context, f *runtimeapi.ContainerFilter) ([]*runtimeapi.Container, error) {
	ids, err := c.d.md.List(pod.ContainerKind)
	if err != nil {
		return nil, err
	}
	out := []*runtimeapi.Container{}
	for _, id := range ids {
		rec, r, err := c.criContainer(id)
		if err != nil {
			continue
		}
		st := criState(r)
		if f != nil && (f.GetId() != "" && !strings.HasPrefix(rec.ID, f.GetId()) ||
			f.GetPodSandboxId() != "" && !strings.HasPrefix(rec.PodID, f.GetPodSandboxId()) ||
			f.GetState() != nil && f.GetState().GetState() != st ||
			!pod.MatchLabels(f.GetLabelSelector(), rec.Labels)) {
			continue
		}
		out = append(out, &runtimeapi.Container{
			Id: rec.ID, PodSandboxId: rec.PodID, Metadata: rec.Metadata,
			Image: &runtimeapi.ImageSpec{Image: rec.Image}, ImageRef: rec.ImageID, ImageId: rec.ImageID,
			State: st, CreatedAt: rec.Created.UnixNano(), Labels: rec.Labels, Annotations: rec.Annotations,
		})
	}
	return out, nil
}

// ContainerStatus is the CRI's view of the engine's record.
func (c *CRI) ContainerStatus(ctx context.Context, id string) (*runtimeapi.ContainerStatus, map[string]string, error) {
	rec, r, err := c.criContainer(id)
	if err != nil {
		return nil, nil, err
	}
	st := &runtimeapi.ContainerStatus{
		Id: rec.ID, Metadata: rec.Metadata, State: criState(r), CreatedAt: rec.Created.UnixNano(),
		Image: &runtimeapi.ImageSpec{Image: rec.Image}, ImageRef: rec.ImageID, ImageId: rec.ImageID,
		Labels: rec.Labels, Annotations: rec.Annotations, LogPath: rec.LogPath,
	}
	if !r.StartedAt.IsZero() {
		st.StartedAt = r.StartedAt.UnixNano()
	}
	st.User = rec.User
	if st.State == runtimeapi.ContainerState_CONTAINER_EXITED {
		st.FinishedAt, st.ExitCode = r.FinishedAt.UnixNano(), int32(r.ExitCode)
		switch {
		case r.OOMKilled:
			st.Reason = "OOMKilled"
		case r.ExitCode == 0:
			st.Reason = "Completed"
		default:
			st.Reason = "Error"
		}
		st.Message = r.Error
	}
	for _, b := range r.HostConfig.Binds {
		parts := strings.Split(b, ":")
		if len(parts) >= 2 {
			m := &runtimeapi.Mount{HostPath: parts[0], ContainerPath: parts[1]}
			if len(parts) > 2 {
				m.Readonly, m.Propagation = bindOptions(parts[2])
			}
			for _, v := range rec.ImageVolumes {
				if v.ContainerPath == m.ContainerPath {
					m.HostPath, m.Image = "", &runtimeapi.ImageSpec{Image: v.Image, ImageRef: v.ImageRef}
				}
			}
			st.Mounts = append(st.Mounts, m)
		}
	}
	info := map[string]string{"info": fmt.Sprintf(`{"pid":%d,"sandboxID":%q}`, r.Pid, rec.PodID)}
	return st, info, nil
}

// ReopenContainerLog: the monitor's CRI log writer opens a new file at the
// path as soon as the kubelet has renamed the old one, so only the
// container's being there and running is checked.
func (c *CRI) ReopenContainerLog(ctx context.Context, id string) error {
	rec, r, err := c.criContainer(id)
	if err != nil {
		return err
	}
	if r.State != container.StateRunning {
		return fmt.Errorf("container %s is not running: %w", id, errdefs.ErrConflict)
	}
	if rec.LogPath == "" {
		return nil
	}
	// The new file is there when the call returns, as the kubelet checks;
	// the monitor's writer moves to it at its next line.
	f, err := os.OpenFile(rec.LogPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("container %s: reopen log: %w", id, err)
	}
	return f.Close()
}

// UpdateContainerResources changes the limits of a running container.
func (c *CRI) UpdateContainerResources(ctx context.Context, id string, lr *runtimeapi.LinuxContainerResources) error {
	rec, _, err := c.criContainer(id)
	if err != nil {
		return err
	}
	if lr == nil {
		return nil
	}
	u := container.UpdateConfig{Resources: resources(lr)}
	_, err = c.d.ContainerUpdate(ctx, rec.ID, u)
	return err
}

// podPIDHolder is the running container of a pod with a shared PID
// namespace that holds it: the oldest one started with pier-init.
func (c *CRI) podPIDHolder(podID string) string {
	var best *pod.Container
	for _, ct := range c.podContainers(podID) {
		var r containerRecord
		if c.d.md.Get(containerKind, ct.ID, &r) != nil || r.State != container.StateRunning {
			continue
		}
		if r.HostConfig == nil || r.HostConfig.Init == nil || !*r.HostConfig.Init {
			continue
		}
		if best == nil || ct.Created.Before(best.Created) {
			best = ct
		}
	}
	if best == nil {
		return ""
	}
	return best.ID
}

// bindOptions reads back what cri_spec.go put in a bind's options: ro,
// and rslave or rshared for the CRI's propagation.
func bindOptions(opts string) (readonly bool, prop runtimeapi.MountPropagation) {
	for _, o := range strings.Split(opts, ",") {
		switch o {
		case "ro":
			readonly = true
		case "rslave":
			prop = runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER
		case "rshared":
			prop = runtimeapi.MountPropagation_PROPAGATION_BIDIRECTIONAL
		}
	}
	return readonly, prop
}
