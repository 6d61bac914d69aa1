package daemon

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/moby/moby/api/types/container"
	"github.com/vishvananda/netlink"

	"github.com/pier-engine/pier/internal/network"
)

// networks is the daemon's network state in memory. A network's bridge,
// its NAT and isolation rules and its resolver exist only while a
// container is attached: the first endpoint brings them up and the last
// one to leave takes them down, so a host where no container runs carries
// no pier bridge, rule or table.
type networks struct {
	defOnce sync.Once // makes the predefined networks' records
	defErr  error

	// mu serialises wiring, so a bridge's creation never interleaves with
	// the removal that follows its last endpoint's departure.
	mu    sync.Mutex
	ipams map[string]*network.IPAM // by network id. Guarded by mu.
	up    map[string]bool          // networks this process brought up. Guarded by mu.
	// hold keeps networks up once unused (HoldNetworks). Guarded by mu.
	hold bool
	// detaching are the veths being deleted in the background, by name;
	// each channel closes when its deletion ends. Guarded by mu.
	detaching map[string]chan struct{}
	dns       map[string]closer // resolvers by network id. Guarded by mu.

	// namesMu guards the resolvers' name tables, read on every query.
	namesMu sync.RWMutex
	names   map[string]map[string]nameEntry // network id → container id →. Guarded by namesMu.
}

// ipamPath is the file of network id's address allocations.
func (d *Daemon) ipamPath(id string) string {
	return filepath.Join(d.cfg.Root, "network", "ipam", id+".json")
}

// netnsDir holds the bind mounts that keep containers' namespaces.
func (d *Daemon) netnsDir() string { return filepath.Join(d.cfg.Root, "netns") }

// ipamOf opens a network's allocator once; d.nets.mu is held.
func (d *Daemon) ipamOf(n netRecord) (*network.IPAM, error) {
	if m, ok := d.nets.ipams[n.ID]; ok {
		return m, nil
	}
	dir := filepath.Dir(d.ipamPath(n.ID))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("network %s: %w", n.Name, err)
	}
	m, err := network.OpenIPAM(dir, n.ID, n.Subnet)
	if err != nil {
		return nil, fmt.Errorf("network %s: %w", n.Name, err)
	}
	if d.nets.ipams == nil {
		d.nets.ipams = map[string]*network.IPAM{}
	}
	d.nets.ipams[n.ID] = m
	return m, nil
}

// bringUp makes n's bridge, NAT, isolation from every other bridge that is
// up, and resolver exist; d.nets.mu is held. It is idempotent and cheap
// when the bridge is up already.
func (d *Daemon) bringUp(np *netRecord) (*network.Bridge, error) {
	n := *np
	if d.nets.up[n.ID] {
		if l, err := netlink.LinkByName(n.Bridge); err == nil {
			return &network.Bridge{Name: n.Bridge, Subnet: n.Subnet, Gateway: n.gateway(), MTU: l.Attrs().MTU}, nil
		}
	}
	n, err := d.moveSubnet(n)
	if err != nil {
		return nil, err
	}
	*np = n
	br, err := network.EnsureBridge(n.Bridge, n.Subnet, network.HostMTU())
	if err != nil {
		return nil, fmt.Errorf("network %s: %w", n.Name, err)
	}
	if !n.Internal {
		if err := network.EnsureNAT(n.Subnet, n.Bridge); err != nil {
			return nil, fmt.Errorf("network %s: %w", n.Name, err)
		}
	}
	recs, err := d.readNetworks()
	if err != nil {
		return nil, err
	}
	for _, o := range recs {
		if o.ID == n.ID || o.Bridge == "" {
			continue
		}
		if _, err := netlink.LinkByName(o.Bridge); err != nil {
			continue // down: its own bring-up isolates it
		}
		if err := network.Isolate(n.Bridge, o.Bridge); err != nil {
			return nil, fmt.Errorf("network %s: %w", n.Name, err)
		}
	}
	d.startResolver(n)
	if d.nets.up == nil {
		d.nets.up = map[string]bool{}
	}
	d.nets.up[n.ID] = true
	return br, nil
}

// moveSubnet gives a network whose bridge is down, and whose subnet pier
// picked, a free subnet when a host route (another daemon's bridge, a VPN)
// overlaps it now; d.nets.mu is held. With no bridge there is no
// container on it, so no address is in use.
func (d *Daemon) moveSubnet(n netRecord) (netRecord, error) {
	if !n.AutoSubnet {
		return n, nil
	}
	if _, err := netlink.LinkByName(n.Bridge); err == nil {
		return n, nil
	}
	routes, err := network.HostRoutes()
	if err != nil {
		return n, err
	}
	if !slices.ContainsFunc(routes, func(r netip.Prefix) bool { return r.Bits() > 0 && r.Overlaps(n.Subnet) }) {
		return n, nil
	}
	recs, err := d.readNetworks()
	if err != nil {
		return n, err
	}
	sub, err := d.freeSubnet(recs)
	if err != nil {
		return n, err
	}
	if err := os.Remove(d.ipamPath(n.ID)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return n, fmt.Errorf("network %s: %w", n.Name, err)
	}
	delete(d.nets.ipams, n.ID)
	err = d.md.Update(networkKind, n.ID, &n, func() error { n.Subnet = sub; return nil })
	return n, err
}

// tearDownIfUnused removes n's bridge, rules and resolver once no
// endpoint is attached to it, and pier's table once it is empty, unless
// networks are held; d.nets.mu is held.
func (d *Daemon) tearDownIfUnused(n netRecord) error {
	if n.Bridge == "" || d.nets.hold {
		return nil
	}
	return d.tearDown(n)
}

// tearDown is tearDownIfUnused, held or not.
func (d *Daemon) tearDown(n netRecord) error {
	if n.Bridge == "" {
		return nil
	}
	used, err := network.BridgeInUse(n.Bridge)
	if err != nil || used {
		return err
	}
	d.stopResolver(n.ID)
	delete(d.nets.up, n.ID)
	if _, err := netlink.LinkByName(n.Bridge); err != nil {
		// Never up, or gone with its rules: the bridge goes last.
		return nil
	}
	var errs []error
	errs = append(errs, network.RemoveBridgeRules(n.Bridge))
	errs = append(errs, network.DeleteBridge(n.Bridge))
	errs = append(errs, network.DeleteTableIfEmpty())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("network %s: tear down: %w", n.Name, err)
	}
	return nil
}

func (d *Daemon) stopResolver(netID string) {
	if s, ok := d.nets.dns[netID]; ok {
		_ = s.Close()
		delete(d.nets.dns, netID)
	}
}

// networkRestore settles the networks after pierd starts: one whose
// bridge still carries containers (they ran through a restart of pierd)
// gets its rules, isolation and resolver back; a bridge left without any,
// after a crash, goes.
func (d *Daemon) networkRestore() {
	recs, err := d.networkRecords()
	if err != nil {
		d.log.Warn("network restore", "err", err)
		return
	}
	d.sweepNetns()
	d.nets.mu.Lock()
	defer d.nets.mu.Unlock()
	for _, n := range recs {
		if n.Bridge == "" {
			continue
		}
		used, err := network.BridgeInUse(n.Bridge)
		if err == nil && used {
			_, err = d.bringUp(&n)
		} else if err == nil {
			err = d.tearDownIfUnused(n)
		}
		if err != nil {
			d.log.Warn("network restore", "network", n.Name, "err", err)
		}
	}
}

// sweepNetns undoes the network of every namespace file whose container
// does not run: what a crash of pierd in the middle of a start left.
func (d *Daemon) sweepNetns() {
	ents, err := os.ReadDir(d.netnsDir())
	if err != nil {
		return
	}
	for _, e := range ents {
		var r containerRecord
		err := d.md.Get(containerKind, e.Name(), &r)
		switch {
		case err == nil && (r.State == container.StateRunning || r.State == container.StatePaused):
			continue
		case err == nil:
			d.networkStop(r)
		default:
			if err := network.DeleteNetns(filepath.Join(d.netnsDir(), e.Name())); err != nil {
				d.log.Warn("network restore", "container_id", e.Name(), "err", err)
			}
		}
	}
}
