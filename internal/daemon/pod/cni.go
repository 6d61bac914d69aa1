package pod

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"sync"

	"github.com/containernetworking/cni/libcni"
	types100 "github.com/containernetworking/cni/pkg/types/100"

	"github.com/pier-engine/pier/internal/errdefs"
)

// Default CNI locations: the kubelet's conventions and Debian's
// containernetworking-plugins.
const (
	DefaultCNIConfDir = "/etc/cni/net.d"
	DefaultCNIBinDir  = "/usr/lib/cni"
)

const loopbackConf = `{"cniVersion":"0.4.0","name":"cni-loopback","plugins":[{"type":"loopback"}]}`

// PortMapping is one hostPort for the portmap plugin.
type PortMapping struct {
	HostPort      int32  `json:"hostPort"`
	ContainerPort int32  `json:"containerPort"`
	Protocol      string `json:"protocol"`
	HostIP        string `json:"hostIP,omitempty"`
}

// CNI runs the pod network's plugins.
type CNI struct {
	confDir string
	cni     *libcni.CNIConfig
	lo      *libcni.NetworkConfigList

	mu  sync.Mutex
	net *libcni.NetworkConfigList // loaded on first use, so a conflist written after start counts
}

// NewCNI uses the first conflist (by name) in confDir and plugins from
// binDirs; cacheDir keeps libcni's results for the DEL after a restart.
func NewCNI(confDir string, binDirs []string, cacheDir string) (*CNI, error) {
	lo, err := libcni.ConfListFromBytes([]byte(loopbackConf))
	if err != nil {
		return nil, fmt.Errorf("cni loopback: %w", err)
	}
	return &CNI{confDir: confDir, cni: libcni.NewCNIConfigWithCacheDir(binDirs, cacheDir, nil), lo: lo}, nil
}

// Network returns the pod network's conflist, or an error saying why there
// is none (the CRI Status reports it as NetworkReady=false).
func (c *CNI) Network() (*libcni.NetworkConfigList, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.net != nil {
		return c.net, nil
	}
	files, err := libcni.ConfFiles(c.confDir, []string{".conflist"})
	if err != nil {
		return nil, fmt.Errorf("cni config %s: %w", c.confDir, err)
	}
	sort.Strings(files)
	if len(files) == 0 {
		return nil, fmt.Errorf("cni config: no .conflist in %s", c.confDir)
	}
	l, err := libcni.ConfListFromFile(files[0])
	if err != nil {
		return nil, fmt.Errorf("cni config %s: %w", files[0], err)
	}
	c.net = l
	return l, nil
}

func (c *CNI) rt(id, netns string, ports []PortMapping) *libcni.RuntimeConf {
	rt := &libcni.RuntimeConf{ContainerID: id, NetNS: netns, IfName: "eth0"}
	if len(ports) > 0 {
		rt.CapabilityArgs = map[string]any{"portMappings": ports}
	}
	return rt
}

// Setup brings up lo and the pod network in netns; it returns the pod's
// IPv4 address. On failure it undoes what it did.
func (c *CNI) Setup(ctx context.Context, id, netns string, ports []PortMapping) (string, error) {
	l, err := c.Network()
	if err != nil {
		return "", err
	}
	if _, err := c.cni.AddNetworkList(ctx, c.lo, &libcni.RuntimeConf{ContainerID: id, NetNS: netns, IfName: "lo"}); err != nil {
		return "", fmt.Errorf("cni loopback: %w", err)
	}
	res, err := c.cni.AddNetworkList(ctx, l, c.rt(id, netns, ports))
	if err != nil {
		_ = c.cni.DelNetworkList(context.WithoutCancel(ctx), l, c.rt(id, netns, ports))
		return "", fmt.Errorf("cni network %s: %w", l.Name, err)
	}
	r, err := types100.NewResultFromResult(res)
	if err != nil {
		_ = c.cni.DelNetworkList(context.WithoutCancel(ctx), l, c.rt(id, netns, ports))
		return "", fmt.Errorf("cni network %s: result: %w", l.Name, err)
	}
	for _, ip := range r.IPs {
		if ip.Address.IP.To4() != nil {
			return ip.Address.IP.String(), nil
		}
	}
	if len(r.IPs) > 0 {
		return r.IPs[0].Address.IP.String(), nil
	}
	return "", nil
}

// Teardown releases the pod's address and port mappings. netns may be gone
// (empty): the plugins then release what they keep outside it.
func (c *CNI) Teardown(ctx context.Context, id, netns string, ports []PortMapping) error {
	l, err := c.Network()
	if err != nil {
		return err
	}
	var errs []error
	if err := c.cni.DelNetworkList(ctx, l, c.rt(id, netns, ports)); err != nil {
		errs = append(errs, fmt.Errorf("cni network %s: del: %w", l.Name, err))
	}
	return errors.Join(errs...)
}

// ParseHostIP checks a port mapping's host_ip.
func ParseHostIP(s string) error {
	if s != "" && net.ParseIP(s) == nil {
		return fmt.Errorf("host_ip %q: %w", s, errdefs.ErrInvalidArgument)
	}
	return nil
}
