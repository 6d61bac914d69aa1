package network

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/pier-engine/pier/internal/errdefs"
)

func mustAlloc(t *testing.T, m *IPAM, owner string) netip.Addr {
	t.Helper()
	a, err := m.Allocate(owner)
	if err != nil {
		t.Fatalf("allocate for %s: %v", owner, err)
	}
	return a
}

func TestIPAMSkipsReservedAndExhausts(t *testing.T) {
	subnet := netip.MustParsePrefix("10.9.0.0/29") // .0 net, .1 gw, .7 bcast
	m, err := OpenIPAM(t.TempDir(), "n", subnet)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[netip.Addr]bool{}
	for i := range 5 {
		a := mustAlloc(t, m, "c")
		if seen[a] {
			t.Fatalf("allocation %d: %s handed out twice", i, a)
		}
		seen[a] = true
		if a == subnet.Addr() || a == Gateway(subnet) || a == Broadcast(subnet) || !subnet.Contains(a) {
			t.Fatalf("allocation %d: reserved or foreign address %s", i, a)
		}
	}
	if a, err := m.Allocate("c"); !errors.Is(err, errdefs.ErrConflict) {
		t.Fatalf("sixth allocation in a /29: %s, %v; want ErrConflict", a, err)
	}
}

func TestIPAMPersistsAcrossReload(t *testing.T) {
	dir := t.TempDir()
	subnet := netip.MustParsePrefix("10.9.0.0/24")
	m, err := OpenIPAM(dir, "net1", subnet)
	if err != nil {
		t.Fatal(err)
	}
	a := mustAlloc(t, m, "a")
	b := mustAlloc(t, m, "b")
	if err := m.Release(a); err != nil {
		t.Fatal(err)
	}
	if err := m.AllocateAddr(netip.MustParseAddr("10.9.0.200"), "fixed"); err != nil {
		t.Fatal(err)
	}

	// A restart: a new IPAM over the same file.
	m2, err := OpenIPAM(dir, "net1", subnet)
	if err != nil {
		t.Fatal(err)
	}
	got := m2.Allocated()
	if len(got) != 2 || got[b] != "b" || got[netip.MustParseAddr("10.9.0.200")] != "fixed" {
		t.Fatalf("after reload: %v", got)
	}
	c := mustAlloc(t, m2, "c")
	if c == b || c == a {
		t.Fatalf("after reload got %s again (a=%s b=%s); allocation must move on", c, a, b)
	}
	if err := m2.AllocateAddr(b, "x"); !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Fatalf("re-allocating %s: %v, want ErrAlreadyExists", b, err)
	}
	if err := m2.AllocateAddr(Gateway(subnet), "x"); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Fatalf("allocating the gateway: %v, want ErrInvalidArgument", err)
	}
	if err := m2.Release(netip.MustParseAddr("10.9.0.99")); err != nil {
		t.Fatalf("releasing a free address: %v", err)
	}
	// No temporary files left next to the state.
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 || ents[0].Name() != "net1.json" {
		t.Fatalf("dir holds %v, want only net1.json", ents)
	}
}

func TestIPAMWrapsAndReusesReleased(t *testing.T) {
	m, err := OpenIPAM(t.TempDir(), "n", netip.MustParsePrefix("10.9.0.0/29"))
	if err != nil {
		t.Fatal(err)
	}
	var all []netip.Addr
	for range 5 {
		all = append(all, mustAlloc(t, m, "c"))
	}
	if err := m.Release(all[2]); err != nil {
		t.Fatal(err)
	}
	if a := mustAlloc(t, m, "d"); a != all[2] {
		t.Fatalf("got %s, want the only free address %s", a, all[2])
	}
}

func TestIPAMRefusesOtherSubnetAndBadFile(t *testing.T) {
	dir := t.TempDir()
	m, err := OpenIPAM(dir, "n", netip.MustParsePrefix("10.9.0.0/24"))
	if err != nil {
		t.Fatal(err)
	}
	mustAlloc(t, m, "a")
	if _, err := OpenIPAM(dir, "n", netip.MustParsePrefix("10.8.0.0/24")); !errors.Is(err, errdefs.ErrConflict) {
		t.Fatalf("other subnet: %v, want ErrConflict", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bad.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenIPAM(dir, "bad", netip.MustParsePrefix("10.9.0.0/24")); err == nil {
		t.Fatal("a torn file was accepted")
	}
	if _, err := OpenIPAM(dir, "../x", netip.MustParsePrefix("10.9.0.0/24")); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Fatalf("name with a slash: %v", err)
	}
}

func TestIPAMFailedWriteKeepsState(t *testing.T) {
	dir := t.TempDir()
	m, err := OpenIPAM(filepath.Join(dir, "missing"), "n", netip.MustParsePrefix("10.9.0.0/24"))
	if err != nil {
		t.Fatal(err)
	}
	if a, err := m.Allocate("a"); err == nil {
		t.Fatalf("allocated %s with an unwritable directory", a)
	}
	if got := m.Allocated(); len(got) != 0 {
		t.Fatalf("failed write left %v in memory", got)
	}
}

func TestIPAMCustomGateway(t *testing.T) {
	sub := netip.MustParsePrefix("10.9.0.0/29")
	gw := netip.MustParseAddr("10.9.0.6")
	m, err := OpenIPAMPool(t.TempDir(), "n", Pool{Subnet: sub, Gateway: gw})
	if err != nil {
		t.Fatal(err)
	}
	got := map[netip.Addr]bool{}
	for range 5 {
		got[mustAlloc(t, m, "c")] = true
	}
	if got[gw] || !got[netip.MustParseAddr("10.9.0.1")] || len(got) != 5 {
		t.Errorf("allocated %v: want .1 to .5, never the gateway %s", got, gw)
	}
	if _, err := m.Allocate("c"); !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("sixth allocation: %v, want full", err)
	}
	for _, bad := range []string{"10.9.0.0", "10.9.0.7", "10.9.1.1"} {
		if _, err := OpenIPAMPool(t.TempDir(), "n", Pool{Subnet: sub, Gateway: netip.MustParseAddr(bad)}); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("gateway %s: %v, want invalid", bad, err)
		}
	}
}

func TestIPAMRangeAndReserved(t *testing.T) {
	p := Pool{Subnet: netip.MustParsePrefix("10.9.0.0/24"), Gateway: netip.MustParseAddr("10.9.0.254"),
		Range: netip.MustParsePrefix("10.9.0.8/30"), Reserved: []netip.Addr{netip.MustParseAddr("10.9.0.9")}}
	m, err := OpenIPAMPool(t.TempDir(), "n", p)
	if err != nil {
		t.Fatal(err)
	}
	got := map[netip.Addr]bool{}
	for range 3 {
		got[mustAlloc(t, m, "c")] = true
	}
	if !got[netip.MustParseAddr("10.9.0.8")] || !got[netip.MustParseAddr("10.9.0.10")] || !got[netip.MustParseAddr("10.9.0.11")] {
		t.Errorf("allocated %v: want the range 10.9.0.8/30 but the reserved .9", got)
	}
	if _, err := m.Allocate("c"); !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("allocation past the range: %v, want full", err)
	}
	// A chosen address may lie outside the range, as in dockerd, but not
	// on a reserved one.
	if err := m.AllocateAddr(netip.MustParseAddr("10.9.0.100"), "d"); err != nil {
		t.Errorf("chosen address outside the range: %v", err)
	}
	if err := m.AllocateAddr(netip.MustParseAddr("10.9.0.9"), "d"); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("chosen reserved address: %v", err)
	}
	for _, bad := range []Pool{
		{Subnet: p.Subnet, Range: netip.MustParsePrefix("10.8.0.0/28")},
		{Subnet: p.Subnet, Range: netip.MustParsePrefix("10.9.0.0/16")},
		{Subnet: p.Subnet, Reserved: []netip.Addr{netip.MustParseAddr("10.10.0.1")}},
	} {
		if _, err := OpenIPAMPool(t.TempDir(), "n", bad); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("pool %+v: %v, want invalid", bad, err)
		}
	}
}
