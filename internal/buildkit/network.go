package buildkit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"

	ctdoci "github.com/containerd/containerd/v2/pkg/oci"
	"github.com/moby/buildkit/executor"
	resourcestypes "github.com/moby/buildkit/executor/resources/types"
	"github.com/moby/buildkit/identity"
	"github.com/moby/buildkit/solver/pb"
	bknetwork "github.com/moby/buildkit/util/network"
	"github.com/moby/buildkit/worker/base"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/pier-engine/pier/internal/network"
)

// netProvider gives every RUN step a network namespace of its own on a
// bridge of this BuildKit (pier's network code: a pier-owned bridge, NAT
// out, and the guard that keeps containers off the host's 127.0.0.0/8),
// instead of the host's network, which BuildKit's OCI worker uses without
// CNI and which would let a RUN reach what the host binds on 127.0.0.1.
// The bridge comes up with the worker and goes with it.
type netProvider struct {
	dir    string // namespace files and the address file
	bridge *network.Bridge
	ipam   *network.IPAM
}

// bridgeName is the build bridge of the BuildKit whose state is root:
// one per pierd, so two pierds never share addresses.
func bridgeName(root string) string {
	sum := sha256.Sum256([]byte(root))
	return "pierbk-" + hex.EncodeToString(sum[:3])
}

// newNetProvider brings the bridge up (keeping the subnet of one a killed
// pierd left) and undoes the namespaces a killed pierd left under root.
func newNetProvider(root string) (p *netProvider, err error) {
	dir := filepath.Join(root, "net")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("build network: %w", err)
	}
	if err := sweepNetns(dir); err != nil {
		return nil, err
	}
	name := bridgeName(root)
	if err := network.CheckBridgeName(name); err != nil {
		return nil, fmt.Errorf("build network: %w", err)
	}
	subnet, ok := network.BridgeSubnet(name)
	if !ok {
		routes, err := network.HostRoutes()
		if err != nil {
			return nil, fmt.Errorf("build network: %w", err)
		}
		if subnet, err = network.DefaultSubnet(routes); err != nil {
			return nil, fmt.Errorf("build network: %w", err)
		}
	}
	br, err := network.EnsureBridge(name, subnet, network.HostMTU())
	if err != nil {
		return nil, fmt.Errorf("build network: %w", err)
	}
	p = &netProvider{dir: dir, bridge: br}
	defer func() {
		if err != nil {
			_ = p.Close()
		}
	}()
	if err := network.EnsureNAT(subnet, name); err != nil {
		return nil, fmt.Errorf("build network: %w", err)
	}
	// Nothing runs yet: no address is in use, whatever the file says.
	if err := os.Remove(filepath.Join(dir, "ipam.json")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("build network: %w", err)
	}
	if p.ipam, err = network.OpenIPAM(dir, "ipam", subnet); err != nil {
		return nil, fmt.Errorf("build network: %w", err)
	}
	return p, nil
}

// sweepNetns removes the namespace files in dir (their veths go with
// the namespaces).
func sweepNetns(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("build network: %w", err)
	}
	var errs []error
	for _, e := range ents {
		if filepath.Ext(e.Name()) == ".ns" {
			errs = append(errs, network.DeleteNetns(filepath.Join(dir, e.Name())))
		}
	}
	return errors.Join(errs...)
}

// New makes a namespace with lo and eth0 on the bridge, its default
// route through the bridge.
func (p *netProvider) New(ctx context.Context, hostname string, _ bknetwork.NamespaceOptions) (_ bknetwork.Namespace, err error) {
	id := identity.NewID()
	ns := &netNS{p: p, path: filepath.Join(p.dir, id+".ns")}
	if err := network.NewNetns(ns.path); err != nil {
		return nil, fmt.Errorf("build network: %w", err)
	}
	defer func() {
		if err != nil {
			_ = ns.Close()
		}
	}()
	ip, err := p.ipam.Allocate(id)
	if err != nil {
		return nil, fmt.Errorf("build network: %w", err)
	}
	ns.ip = ip
	if ns.ep, err = network.Attach(ns.path, p.bridge, ip, "eth0"); err != nil {
		return nil, fmt.Errorf("build network: %w", err)
	}
	return ns, nil
}

// Close takes the bridge and its rules away, and pier's table when no
// other bridge needs it.
func (p *netProvider) Close() error {
	errs := []error{sweepNetns(p.dir)}
	errs = append(errs, network.RemoveBridgeRules(p.bridge.Name))
	errs = append(errs, network.DeleteBridge(p.bridge.Name))
	errs = append(errs, network.DeleteTableIfEmpty())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("build network %s: tear down: %w", p.bridge.Name, err)
	}
	return nil
}

// netNS is one RUN step's namespace, never reused by another step.
type netNS struct {
	p    *netProvider
	path string
	ip   netip.Addr
	ep   *network.Endpoint
}

func (ns *netNS) Set(s *specs.Spec) error {
	return ctdoci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: ns.path})(context.TODO(), nil, nil, s)
}

func (ns *netNS) Sample() (*resourcestypes.NetworkSample, error) { return nil, nil }

func (ns *netNS) Close() error {
	var errs []error
	if ns.ep != nil {
		errs = append(errs, network.Detach(ns.ep))
	}
	if ns.ip.IsValid() {
		errs = append(errs, ns.p.ipam.Release(ns.ip))
	}
	errs = append(errs, network.DeleteNetns(ns.path))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("build network namespace %s: %w", ns.path, err)
	}
	return nil
}

// useOwnNetwork makes pier's namespaces the worker's default network.
// The executor shares opt's provider map, so it sees the change. Proxy
// networks are refused: their egress would be the host's.
func useOwnNetwork(opt *base.WorkerOpt, root string) error {
	p, err := newNetProvider(root)
	if err != nil {
		return err
	}
	opt.NetworkProviders[pb.NetMode_UNSET] = p
	opt.Executor = noProxyExecutor{opt.Executor}
	return nil
}

// noProxyExecutor runs what BuildKit's executor runs, except steps that
// ask for BuildKit's proxy network.
type noProxyExecutor struct{ executor.Executor }

var errProxyNetwork = errors.New("build network: BuildKit's proxy network is not served by pier")

func (e noProxyExecutor) Run(ctx context.Context, id string, rootfs executor.Mount, mounts []executor.Mount, process executor.ProcessInfo, started chan<- struct{}) (resourcestypes.Recorder, error) {
	if process.Meta.Proxy != nil {
		return nil, errProxyNetwork
	}
	return e.Executor.Run(ctx, id, rootfs, mounts, process, started)
}

func (e noProxyExecutor) Exec(ctx context.Context, id string, process executor.ProcessInfo) error {
	if process.Meta.Proxy != nil {
		return errProxyNetwork
	}
	return e.Executor.Exec(ctx, id, process)
}
