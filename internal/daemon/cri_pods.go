package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/pier-engine/pier/internal/daemon/pod"
	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/network"
	"github.com/pier-engine/pier/internal/rootfs"
)

// criCgroupRoot is where pod cgroups go, under pier's own parent.
const criCgroupRoot = "/pier/kubepods"

// RunPodSandbox makes a sandbox: its network namespace (a bind-mounted
// file, no process), the CNI network in it, its resolv.conf and its
// record. A failure undoes every step.
func (c *CRI) RunPodSandbox(ctx context.Context, cfg *runtimeapi.PodSandboxConfig, handler string) (id string, err error) {
	maps, err := checkPodSecurity(cfg)
	if err != nil {
		return "", err
	}
	if handler != "" && handler != "pier" && handler != "runc" {
		return "", fmt.Errorf("runtime_handler %q: pier has the handler \"pier\" only: %w", handler, errdefs.ErrNotFound)
	}
	id = newContainerID()
	cg, err := pod.CgroupParent(criCgroupRoot, cfg.GetLinux().GetCgroupParent(), id)
	if err != nil {
		return "", err
	}
	s := &pod.Sandbox{ID: id, Config: cfg, Handler: handler, Created: time.Now().UTC(), CgroupParent: cg}
	for _, p := range cfg.GetPortMappings() {
		if err := pod.ParseHostIP(p.GetHostIp()); err != nil {
			return "", fmt.Errorf("config.port_mappings: %w", err)
		}
		if p.GetHostPort() > 0 {
			s.Ports = append(s.Ports, pod.PortMapping{
				HostPort: p.GetHostPort(), ContainerPort: p.GetContainerPort(), HostIP: p.GetHostIp(),
				Protocol: strings.ToLower(p.GetProtocol().String()),
			})
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	dir := c.d.criDir("pods", id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("pod %s: %w", id, err)
	}
	defer func() {
		if err != nil {
			c.teardown(context.WithoutCancel(ctx), s)
			_ = os.RemoveAll(dir)
		}
	}()
	if err := writeResolvConf(filepath.Join(dir, "resolv.conf"), cfg.GetDnsConfig()); err != nil {
		return "", err
	}
	if maps != nil {
		if err := c.makePodUserns(s, dir, maps); err != nil {
			return "", err
		}
	}
	if !s.HostNetwork() {
		ns := c.d.criDir("netns", id)
		if s.Netns == "" {
			if err := network.NewNetns(ns); err != nil {
				return "", fmt.Errorf("pod %s: %w", id, err)
			}
			s.Netns = ns
		}
		if s.IP, err = c.cni.Setup(ctx, id, ns, s.Ports); err != nil {
			return "", fmt.Errorf("pod %s: %w", id, err)
		}
	}
	if err := c.podNamespaces(s, dir); err != nil {
		return "", err
	}
	s.Ready = true
	if err := c.d.md.Create(pod.Kind, id, s); err != nil {
		return "", fmt.Errorf("pod %s: %w", id, err)
	}
	return id, nil
}

// checkPodSecurity refuses what this host cannot give.
// It returns the pod's user namespace maps, nil for the host's.
func checkPodSecurity(cfg *runtimeapi.PodSandboxConfig) (*podIDMaps, error) {
	sc := cfg.GetLinux().GetSecurityContext()
	if sc.GetSelinuxOptions() != nil && !hostHasSELinux() {
		return nil, fmt.Errorf("config.linux.security_context.selinux_options: SELinux is not enabled on this host: %w", errdefs.ErrNotImplemented)
	}
	if sc.GetNamespaceOptions().GetPid() == runtimeapi.NamespaceMode_TARGET {
		return nil, fmt.Errorf("config.linux.security_context.namespace_options.pid: TARGET is for containers: %w", errdefs.ErrInvalidArgument)
	}
	return checkUserns(sc.GetNamespaceOptions())
}

// writeResolvConf writes the pod's DNS settings, or the host's file
// without them.
func writeResolvConf(path string, dns *runtimeapi.DNSConfig) error {
	var b []byte
	if dns == nil || (len(dns.GetServers()) == 0 && len(dns.GetSearches()) == 0 && len(dns.GetOptions()) == 0) {
		b, _ = os.ReadFile("/etc/resolv.conf")
	} else {
		var sb strings.Builder
		for _, s := range dns.GetServers() {
			fmt.Fprintf(&sb, "nameserver %s\n", s)
		}
		if len(dns.GetSearches()) > 0 {
			fmt.Fprintf(&sb, "search %s\n", strings.Join(dns.GetSearches(), " "))
		}
		if len(dns.GetOptions()) > 0 {
			fmt.Fprintf(&sb, "options %s\n", strings.Join(dns.GetOptions(), " "))
		}
		b = []byte(sb.String())
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("resolv.conf: %w", err)
	}
	return nil
}

// podNamespaces makes the pod's IPC and UTS namespaces, held by
// bind-mounted files in the pod's directory like its netns; the UTS one
// has the pod's hostname. A hostNetwork pod has the host's UTS, a pod
// with IPC NODE the host's IPC.
func (c *CRI) podNamespaces(s *pod.Sandbox, dir string) error {
	nsOpts := s.Config.GetLinux().GetSecurityContext().GetNamespaceOptions()
	if nsOpts.GetIpc() != runtimeapi.NamespaceMode_NODE {
		if s.Ipcns == "" { // made with the pod's user namespace otherwise
			p := filepath.Join(dir, "ipcns")
			if err := network.NewIPCNamespace(p); err != nil {
				return fmt.Errorf("pod %s: %w", s.ID, err)
			}
			s.Ipcns = p
		}
		shm := filepath.Join(dir, "shm")
		if err := os.Mkdir(shm, 0o700); err != nil {
			return fmt.Errorf("pod %s: shm: %w", s.ID, err)
		}
		if err := rootfs.MountShm(shm, defaultShmSize); err != nil {
			return fmt.Errorf("pod %s: %w", s.ID, err)
		}
		s.Shm = shm
		if s.Userns != "" { // the pod's root owns its /dev/shm
			if err := os.Chown(shm, int(s.UsernsUID), int(s.UsernsGID)); err != nil {
				return fmt.Errorf("pod %s: shm: %w", s.ID, err)
			}
		}
	}
	if !s.HostNetwork() && s.Utsns == "" {
		p := filepath.Join(dir, "utsns")
		if err := network.NewUTSNamespace(p, s.Config.GetHostname()); err != nil {
			return fmt.Errorf("pod %s: %w", s.ID, err)
		}
		s.Utsns = p
	}
	return nil
}

// teardown releases the sandbox's network: CNI, then the namespace file;
// then its IPC and UTS namespace files and its /dev/shm; then its user
// namespace file and its root's passage through the engine's directories.
func (c *CRI) teardown(ctx context.Context, s *pod.Sandbox) error {
	var errs []error
	if s.Shm != "" {
		if err := rootfs.Detach(s.Shm); err != nil {
			errs = append(errs, err)
		} else if err := os.Remove(s.Shm); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("pod %s: shm: %w", s.ID, err))
		}
	}
	for _, p := range []string{s.Ipcns, s.Utsns} {
		if p != "" {
			if err := network.DeleteNamespace(p); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if s.Netns != "" {
		if err := c.cni.Teardown(ctx, s.ID, s.Netns, s.Ports); err != nil {
			errs = append(errs, err)
		}
		if err := network.DeleteNetns(s.Netns); err != nil {
			errs = append(errs, err)
		}
	}
	if s.Userns != "" {
		if err := c.releaseUserns(s, c.d.criDir("pods", s.ID)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (c *CRI) sandbox(id string) (*pod.Sandbox, error) {
	var s pod.Sandbox
	err := c.d.md.Get(pod.Kind, id, &s)
	if err == nil {
		return &s, nil
	}
	if !errors.Is(err, errdefs.ErrNotFound) {
		return nil, err
	}
	// a unique prefix, as crictl allows
	ids, lerr := c.d.md.List(pod.Kind)
	if lerr != nil {
		return nil, lerr
	}
	var found []string
	for _, x := range ids {
		if strings.HasPrefix(x, id) {
			found = append(found, x)
		}
	}
	if len(found) == 1 {
		return c.sandbox(found[0])
	}
	return nil, fmt.Errorf("pod sandbox %s: %w", id, errdefs.ErrNotFound)
}

// StopPodSandbox stops the pod's containers and releases its network; the
// record stays, NotReady, until RemovePodSandbox.
func (c *CRI) StopPodSandbox(ctx context.Context, id string) error {
	s, err := c.sandbox(id)
	if err != nil {
		return err
	}
	for _, ct := range c.podContainers(s.ID) {
		if err := c.StopContainer(ctx, ct.ID, 0); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
			return err
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.teardown(ctx, s); err != nil {
		return fmt.Errorf("pod %s: %w", s.ID, err)
	}
	return c.d.md.Update(pod.Kind, s.ID, s, func() error {
		s.Ready, s.Netns, s.Ipcns, s.Utsns, s.Shm, s.Userns = false, "", "", "", "", ""
		return nil
	})
}

// RemovePodSandbox removes the pod's containers, network and record.
func (c *CRI) RemovePodSandbox(ctx context.Context, id string) error {
	s, err := c.sandbox(id)
	if err != nil {
		return err
	}
	for _, ct := range c.podContainers(s.ID) {
		if err := c.RemoveContainer(ctx, ct.ID); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
			return err
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.teardown(ctx, s); err != nil {
		return fmt.Errorf("pod %s: %w", s.ID, err)
	}
	if err := c.d.md.Delete(pod.Kind, s.ID); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
		return err
	}
	return os.RemoveAll(c.d.criDir("pods", s.ID))
}

// PodSandboxStatus is the pod's state and address.
func (c *CRI) PodSandboxStatus(ctx context.Context, id string) (*runtimeapi.PodSandboxStatus, map[string]string, error) {
	s, err := c.sandbox(id)
	if err != nil {
		return nil, nil, err
	}
	info := map[string]string{"info": fmt.Sprintf(`{"netns":%q,"cgroupParent":%q}`, s.Netns, s.CgroupParent)}
	return s.Status(), info, nil
}

func (c *CRI) sandboxes() ([]*pod.Sandbox, error) {
	ids, err := c.d.md.List(pod.Kind)
	if err != nil {
		return nil, err
	}
	out := make([]*pod.Sandbox, 0, len(ids))
	for _, id := range ids {
		var s pod.Sandbox
		if err := c.d.md.Get(pod.Kind, id, &s); err == nil {
			out = append(out, &s)
		}
	}
	return out, nil
}

// ListPodSandbox lists the sandboxes f selects.
func (c *CRI) ListPodSandbox(ctx context.Context, f *runtimeapi.PodSandboxFilter) ([]*runtimeapi.PodSandbox, error) {
	all, err := c.sandboxes()
	if err != nil {
		return nil, err
	}
	out := []*runtimeapi.PodSandbox{}
	for _, s := range all {
		if s.Matches(f) {
			out = append(out, s.Summary())
		}
	}
	return out, nil
}

// adoptPods runs when pierd starts: a sandbox whose namespace file is gone
// (a reboot) is NotReady. Its containers are the engine's and are adopted
// with the others.
func (c *CRI) adoptPods(ctx context.Context) {
	all, err := c.sandboxes()
	if err != nil {
		return
	}
	for _, s := range all {
		if s.Netns == "" {
			continue
		}
		if _, err := os.Stat(s.Netns); err != nil {
			_ = c.d.md.Update(pod.Kind, s.ID, s, func() error {
				s.Ready = false
				return nil
			})
		}
	}
}
