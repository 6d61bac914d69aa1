package network

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/pier-engine/pier/internal/testutil"
)

// TestNetnsAndBridgeUse: a namespace kept by a bind mount is a new one and
// goes without a trace; a bridge is in use exactly while a veth is
// plugged into it; a second interface adds no default route.
func TestNetnsAndBridgeUse(t *testing.T) {
	testutil.RequiresRoot(t)
	path := filepath.Join(t.TempDir(), "ns")
	if err := NewNetns(path); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { DeleteNetns(path) })
	if err := NewNetns(path); err == nil {
		t.Error("NewNetns over an existing file succeeded")
	}
	var mine, made unix.Stat_t
	if err := unix.Stat("/proc/self/ns/net", &mine); err != nil {
		t.Fatal(err)
	}
	if err := unix.Stat(path, &made); err != nil || made.Ino == mine.Ino {
		t.Errorf("namespace at %s: inode %d, the test's %d: %v", path, made.Ino, mine.Ino, err)
	}
	if HostMTU() < 576 {
		t.Errorf("HostMTU = %d", HostMTU())
	}
	a, err := EnsureBridge("ptstuse0", netip.MustParsePrefix("10.251.0.0/24"), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { DeleteBridge("ptstuse0") })
	b, err := EnsureBridge("ptstuse1", netip.MustParsePrefix("10.251.1.0/24"), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { DeleteBridge("ptstuse1") })
	if sub, ok := BridgeSubnet("ptstuse1"); !ok || sub != b.Subnet {
		t.Errorf("BridgeSubnet = %s %v", sub, ok)
	}
	if used, err := BridgeInUse("ptstuse0"); used || err != nil {
		t.Errorf("empty bridge in use: %v %v", used, err)
	}
	ep0, err := AttachConfig(EndpointConfig{NetnsPath: path, Bridge: a, IP: netip.MustParseAddr("10.251.0.2")})
	if err != nil {
		t.Fatal(err)
	}
	ep1, err := AttachConfig(EndpointConfig{NetnsPath: path, Bridge: b, IP: netip.MustParseAddr("10.251.1.2"), IfName: "eth1", NoDefaultRoute: true})
	if err != nil {
		t.Fatalf("second interface: %v", err)
	}
	if used, err := BridgeInUse("ptstuse0"); !used || err != nil {
		t.Errorf("bridge with a veth not in use: %v %v", used, err)
	}
	nh, _ := netns.GetFromPath(path)
	nl, err := netlink.NewHandleAt(nh)
	if err != nil {
		t.Fatal(err)
	}
	routes, _ := nl.RouteList(nil, netlink.FAMILY_V4)
	defaults := 0
	for _, r := range routes {
		if r.Dst == nil || r.Dst.IP.IsUnspecified() {
			defaults++
		}
	}
	nl.Close()
	nh.Close()
	if defaults != 1 {
		t.Errorf("%d default routes, want eth0's alone: %+v", defaults, routes)
	}
	for _, ep := range []*Endpoint{ep0, ep1} {
		if err := Detach(ep); err != nil {
			t.Error(err)
		}
	}
	if used, _ := BridgeInUse("ptstuse0"); used {
		t.Error("bridge in use after detach")
	}
	if err := DeleteNetns(path); err != nil {
		t.Fatal(err)
	}
	if err := DeleteNetns(path); err != nil {
		t.Errorf("second DeleteNetns: %v", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("namespace file left: %v", err)
	}
}

// TestDeleteTableIfEmpty keeps pier's table while it holds a rule.
func TestDeleteTableIfEmpty(t *testing.T) {
	testutil.RequiresRoot(t)
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skip("no nft tool to list tables")
	}
	sub := netip.MustParsePrefix("10.252.0.0/24")
	if _, err := EnsureBridge("ptstnat0", sub, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { RemoveBridgeRules("ptstnat0"); DeleteBridge("ptstnat0"); DeleteTableIfEmpty() })
	if err := EnsureNAT(sub, "ptstnat0"); err != nil {
		t.Fatal(err)
	}
	if err := DeleteTableIfEmpty(); err != nil {
		t.Fatal(err)
	}
	if !testutil.TakeSnapshot().NftTables["table ip pier"] {
		t.Error("table with rules deleted")
	}
	if err := RemoveBridgeRules("ptstnat0"); err != nil {
		t.Fatal(err)
	}
	if err := DeleteTableIfEmpty(); err != nil {
		t.Fatal(err)
	}
}
