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
	"sync"
	"time"

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
//
// The bridge is up only while steps use it and for bridgeIdle after
// (bringing it up costs ~100 ms): a pierd killed while it builds
// nothing leaves no bridge, and one killed mid-build leaves one that the
// next start on the same root takes over or removes.
type netProvider struct {
	dir  string // namespace files and the address file
	name string // the bridge

	mu     sync.Mutex
	bridge *network.Bridge // Guarded by mu; nil while down.
	ipam   *network.IPAM   // Guarded by mu.
	active int             // Guarded by mu: namespaces out.
	idle   *time.Timer     // Guarded by mu.
}

// bridgeIdle is how long the bridge outlives its last step.
const bridgeIdle = 10 * time.Second

// bridgeName is the build bridge of the BuildKit whose state is root:
// one per pierd, so two pierds never share addresses.
func bridgeName(root string) string {
	sum := sha256.Sum256([]byte(root))
	return "pierbk-" + hex.EncodeToString(sum[:3])
}

// newNetProvider undoes the namespaces and the bridge a killed pierd left
// under root; the bridge comes up with the first step.
func newNetProvider(root string) (*netProvider, error) {
	p := &netProvider{dir: filepath.Join(root, "net"), name: bridgeName(root)}
	if err := os.MkdirAll(p.dir, 0o700); err != nil {
		return nil, fmt.Errorf("build network: %w", err)
	}
	if err := network.CheckBridgeName(p.name); err != nil {
		return nil, fmt.Errorf("build network: %w", err)
	}
	if err := p.Close(); err != nil {
		return nil, err
	}
	return p, nil
}

// up brings the bridge, its NAT and a fresh address file up; p.mu is
// held and no namespace is out.
func (p *netProvider) up() (err error) {
	subnet, ok := network.BridgeSubnet(p.name)
	if !ok {
		routes, err := network.HostRoutes()
		if err != nil {
			return fmt.Errorf("build network: %w", err)
		}
		if subnet, err = network.DefaultSubnet(routes); err != nil {
			return fmt.Errorf("build network: %w", err)
		}
	}
	br, err := network.EnsureBridge(p.name, subnet, network.HostMTU())
	if err != nil {
		return fmt.Errorf("build network: %w", err)
	}
	defer func() {
		if err != nil {
			_ = p.down()
		}
	}()
	if err := network.EnsureNAT(subnet, p.name); err != nil {
		return fmt.Errorf("build network: %w", err)
	}
	// No namespace is out: no address is in use, whatever the file says.
	if err := os.Remove(filepath.Join(p.dir, "ipam.json")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("build network: %w", err)
	}
	m, err := network.OpenIPAM(p.dir, "ipam", subnet)
	if err != nil {
		return fmt.Errorf("build network: %w", err)
	}
	p.bridge, p.ipam = br, m
	return nil
}

// down removes the namespace files left, the bridge and its rules, and
// pier's table when no other bridge needs it; p.mu is held.
func (p *netProvider) down() error {
	p.bridge, p.ipam = nil, nil
	errs := []error{sweepNetns(p.dir)}
	if network.LinkExists(p.name) {
		errs = append(errs, network.RemoveBridgeRules(p.name))
		errs = append(errs, network.DeleteBridge(p.name))
		errs = append(errs, network.DeleteTableIfEmpty())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("build network %s: tear down: %w", p.name, err)
	}
	return nil
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
	br, ipam, err := p.acquire()
	if err != nil {
		return nil, err
	}
	id := identity.NewID()
	ns := &netNS{p: p, ipam: ipam, path: filepath.Join(p.dir, id+".ns")}
	defer func() {
		if err != nil {
			_ = ns.Close()
		}
	}()
	if err := network.NewNetns(ns.path); err != nil {
		return nil, fmt.Errorf("build network: %w", err)
	}
	ip, err := ipam.Allocate(id)
	if err != nil {
		return nil, fmt.Errorf("build network: %w", err)
	}
	ns.ip = ip
	if ns.ep, err = network.Attach(ns.path, br, ip, "eth0"); err != nil {
		return nil, fmt.Errorf("build network: %w", err)
	}
	return ns, nil
}

// acquire counts a namespace out, bringing the bridge up if it is down.
func (p *netProvider) acquire() (*network.Bridge, *network.IPAM, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.idle != nil {
		p.idle.Stop()
		p.idle = nil
	}
	if p.bridge == nil {
		if err := p.up(); err != nil {
			return nil, nil, err
		}
	}
	p.active++
	return p.bridge, p.ipam, nil
}

// release counts a namespace back; the last one starts the idle timer.
func (p *netProvider) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.active--
	if p.active == 0 && p.bridge != nil {
		p.idle = time.AfterFunc(bridgeIdle, func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			if p.active == 0 && p.bridge != nil {
				_ = p.down() // the next step tries again from scratch
			}
		})
	}
}

// Close takes the bridge down (BuildKit closes its workers' providers
// when it stops).
func (p *netProvider) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.idle != nil {
		p.idle.Stop()
		p.idle = nil
	}
	return p.down()
}

// netNS is one RUN step's namespace, never reused by another step.
type netNS struct {
	p    *netProvider
	ipam *network.IPAM
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
		errs = append(errs, ns.ipam.Release(ns.ip))
	}
	errs = append(errs, network.DeleteNetns(ns.path))
	ns.p.release()
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
