package network

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/pier-engine/pier/internal/atomicfile"
	"github.com/pier-engine/pier/internal/errdefs"
)

// IPAM hands out the addresses of one subnet and remembers them in a JSON
// file, so that no two containers ever share an address, across daemon
// restarts too. It never hands out the network address, the gateway (the
// bridge's) or the broadcast address.
//
// Allocation continues after the last address handed out, wrapping round,
// rather than reusing the lowest free one: a just-released address is taken
// last, so a peer's stale ARP entry or conntrack entry for a dead container
// does not reach the next one.
//
// An IPAM serialises its own callers; one file must have one IPAM (one
// daemon) at a time.
type IPAM struct {
	path    string
	subnet  netip.Prefix
	gateway netip.Addr // the bridge's address, never handed out
	// pool narrows Allocate (not AllocateAddr) to a range of the subnet
	// (IPRange); reserved addresses (AuxiliaryAddresses) are never handed out.
	pool     netip.Prefix
	reserved []netip.Addr

	mu sync.Mutex
	// Guarded by mu.
	state ipamState
}

// ipamState is the file's content.
type ipamState struct {
	Subnet netip.Prefix `json:"subnet"`
	// Allocated maps each address in use to its owner (a container id).
	Allocated map[netip.Addr]string `json:"allocated"`
	// Last is the address most recently handed out by Allocate.
	Last netip.Addr `json:"last,omitzero"`
}

// OpenIPAM loads (or starts) the allocations of the network name from
// dir/name.json. A file recorded for another subnet is a conflict: the
// caller must release every address before changing a network's subnet.
func OpenIPAM(dir, name string, subnet netip.Prefix) (*IPAM, error) {
	return OpenIPAMPool(dir, name, Pool{Subnet: subnet})
}

// Pool is a network's addressing as docker network create's IPAM config
// gives it: the gateway (zero: the subnet's first address), the range
// containers get their addresses from (zero: the whole subnet), and
// addresses never to hand out.
type Pool struct {
	Subnet   netip.Prefix
	Gateway  netip.Addr
	Range    netip.Prefix
	Reserved []netip.Addr
}

// CheckPool reports what is wrong with p, naming the field.
func CheckPool(p Pool) error {
	if err := checkSubnet(p.Subnet); err != nil {
		return err
	}
	if p.Gateway.IsValid() {
		if err := CheckGateway(p.Subnet, p.Gateway); err != nil {
			return err
		}
	}
	if p.Range.IsValid() && (p.Range.Masked() != p.Range || p.Range.Bits() < p.Subnet.Bits() || !p.Subnet.Contains(p.Range.Addr())) {
		return fmt.Errorf("ip-range %s: not a network address inside subnet %s: %w", p.Range, p.Subnet, errdefs.ErrInvalidArgument)
	}
	for _, a := range p.Reserved {
		if !p.Subnet.Contains(a) {
			return fmt.Errorf("auxiliary address %s: not in subnet %s: %w", a, p.Subnet, errdefs.ErrInvalidArgument)
		}
	}
	return nil
}

// OpenIPAMPool is OpenIPAM for a pool with a gateway other than the
// subnet's first address (the first address is then free for containers,
// as in dockerd), an ip range, or reserved addresses.
func OpenIPAMPool(dir, name string, p Pool) (*IPAM, error) {
	if !p.Gateway.IsValid() {
		p.Gateway = Gateway(p.Subnet)
	}
	if err := CheckPool(p); err != nil {
		return nil, err
	}
	subnet, gateway := p.Subnet, p.Gateway
	if name == "" || filepath.Base(name) != name || name[0] == '.' {
		return nil, fmt.Errorf("ipam %q: bad network name: %w", name, errdefs.ErrInvalidArgument)
	}
	m := &IPAM{path: filepath.Join(dir, name+".json"), subnet: subnet, gateway: gateway, pool: p.Range, reserved: p.Reserved}
	m.state = ipamState{Subnet: subnet, Allocated: map[netip.Addr]string{}}
	b, err := os.ReadFile(m.path)
	if errors.Is(err, os.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ipam read %s: %w", m.path, err)
	}
	var st ipamState
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("ipam parse %s: %w", m.path, err)
	}
	if st.Subnet != subnet {
		return nil, fmt.Errorf("ipam %s: recorded subnet %s, asked for %s: %w", m.path, st.Subnet, subnet, errdefs.ErrConflict)
	}
	if st.Allocated == nil {
		st.Allocated = map[netip.Addr]string{}
	}
	m.state = st
	return m, nil
}

// Subnet is the subnet the IPAM allocates in.
func (m *IPAM) Subnet() netip.Prefix { return m.subnet }

// usable reports whether a may be given to a container.
func (m *IPAM) usable(a netip.Addr) bool {
	return m.subnet.Contains(a) && a != m.subnet.Addr() && a != m.gateway && a != Broadcast(m.subnet) && !slices.Contains(m.reserved, a)
}

// dynamic reports whether Allocate may pick a.
func (m *IPAM) dynamic(a netip.Addr) bool {
	return m.usable(a) && (!m.pool.IsValid() || m.pool.Contains(a))
}

// Allocate hands out a free address to owner and records it before
// returning.
func (m *IPAM) Allocate(owner string) (netip.Addr, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	// The walk stays inside the range when there is one: an IPv6 range
	// may be a small part of a /64 that no walk could cross.
	within := m.subnet
	if m.pool.IsValid() {
		within = m.pool
	}
	first := within.Masked().Addr()
	step := func(a netip.Addr) netip.Addr {
		if a = a.Next(); !within.Contains(a) {
			return first
		}
		return a
	}
	a := first
	if within.Contains(m.state.Last) {
		a = step(m.state.Last)
	}
	for begin := a; ; {
		if _, used := m.state.Allocated[a]; m.dynamic(a) && !used {
			break
		}
		if a = step(a); a == begin {
			return netip.Addr{}, fmt.Errorf("ipam %s: no free address: %w", m.subnet, errdefs.ErrConflict)
		}
	}
	next := m.cloneState()
	next.Allocated[a] = owner
	next.Last = a
	if err := m.commit(next); err != nil {
		return netip.Addr{}, err
	}
	return a, nil
}

// AllocateAddr records a chosen address (docker run --ip) for owner.
func (m *IPAM) AllocateAddr(a netip.Addr, owner string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.usable(a) {
		return fmt.Errorf("ipam %s: address %s not assignable: %w", m.subnet, a, errdefs.ErrInvalidArgument)
	}
	if o, used := m.state.Allocated[a]; used {
		return fmt.Errorf("ipam %s: address %s in use by %s: %w", m.subnet, a, o, errdefs.ErrAlreadyExists)
	}
	next := m.cloneState()
	next.Allocated[a] = owner
	return m.commit(next)
}

// Release frees a. Releasing a free address is not an error, so clean-up
// after a crash can release blindly.
func (m *IPAM) Release(a netip.Addr) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, used := m.state.Allocated[a]; !used {
		return nil
	}
	next := m.cloneState()
	delete(next.Allocated, a)
	return m.commit(next)
}

// Allocated returns a copy of the address → owner map, for the daemon to
// reconcile with the containers it knows after a restart.
func (m *IPAM) Allocated() map[netip.Addr]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cloneState().Allocated
}

func (m *IPAM) cloneState() ipamState {
	st := m.state
	st.Allocated = make(map[netip.Addr]string, len(m.state.Allocated)+1)
	for k, v := range m.state.Allocated {
		st.Allocated[k] = v
	}
	return st
}

// commit writes st to the file and only then makes it the state in memory,
// so a failed write leaves both as they were.
func (m *IPAM) commit(st ipamState) error {
	b, err := json.MarshalIndent(st, "", "\t")
	if err != nil {
		return fmt.Errorf("ipam encode: %w", err)
	}
	if err := atomicfile.WriteFile(m.path, b, 0o600); err != nil {
		return fmt.Errorf("ipam: %w", err)
	}
	m.state = st
	return nil
}
