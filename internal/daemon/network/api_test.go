package network

import (
	"context"
	"errors"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	apinet "github.com/moby/moby/api/types/network"

	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/metadata"
)

// fakeContainers is the engine's containers as a map, by id.
type fakeContainers map[string]Container

func (f fakeContainers) Get(id string) (Container, error) {
	if c, ok := f[id]; ok {
		return c, nil
	}
	return Container{}, errdefs.ErrNotFound
}

func (f fakeContainers) List() ([]Container, error) {
	var out []Container
	for _, c := range f {
		out = append(out, c)
	}
	return out, nil
}

func (f fakeContainers) Lock(ref string) (Container, func(), error) {
	for _, c := range f {
		if c.ID == ref || c.Name == ref || strings.HasPrefix(c.ID, ref) {
			return c, func() {}, nil
		}
	}
	return Container{}, nil, errdefs.ErrNotFound
}

func (f fakeContainers) ImagePorts(string) []string { return []string{"8080/tcp"} }

// eventLog records what the controller publishes.
type eventLog []events.Message

func (l *eventLog) Publish(m events.Message) { *l = append(*l, m) }

func newTestController(t *testing.T) (*Controller, fakeContainers) {
	t.Helper()
	root := t.TempDir()
	md, err := metadata.Open(filepath.Join(root, "metadata"))
	if err != nil {
		t.Fatal(err)
	}
	ctrs := fakeContainers{}
	return New(Config{Root: root, Store: md, Events: &eventLog{}, Containers: ctrs}), ctrs
}

func TestNetworkRecords(t *testing.T) {
	d, _ := newTestController(t)
	ctx := context.Background()
	list, err := d.NetworkList(ctx, nil)
	if err != nil || len(list) != 3 || list[0].Name != "bridge" || list[1].Name != "host" || list[2].Name != "none" {
		t.Fatalf("predefined networks = %+v, %v", list, err)
	}
	def := list[0]
	if len(def.IPAM.Config) != 1 || !def.IPAM.Config[0].Subnet.IsValid() || def.Options[bridgeNameOption] == "" {
		t.Errorf("default bridge = %+v", def)
	}
	sub := netip.MustParsePrefix("10.77.0.0/24")
	resp, err := d.NetworkCreate(ctx, apinet.CreateRequest{Name: "front", Labels: map[string]string{"tier": "web"},
		IPAM: &apinet.IPAM{Config: []apinet.IPAMConfig{{Subnet: sub}}}})
	if err != nil || len(resp.ID) != 64 {
		t.Fatalf("create = %+v, %v", resp, err)
	}
	back, err := d.NetworkCreate(ctx, apinet.CreateRequest{Name: "back"})
	if err != nil {
		t.Fatal(err)
	}
	n, err := d.NetworkInspect(ctx, "back")
	if err != nil || n.ID != back.ID || n.IPAM.Config[0].Subnet.Overlaps(sub) || n.IPAM.Config[0].Subnet.Overlaps(def.IPAM.Config[0].Subnet) {
		t.Errorf("auto subnet of back = %+v, %v", n.IPAM, err)
	}
	for _, c := range []struct {
		req  apinet.CreateRequest
		kind error
	}{
		{apinet.CreateRequest{Name: "front"}, errdefs.ErrConflict},
		{apinet.CreateRequest{Name: "bridge"}, errdefs.ErrConflict},
		{apinet.CreateRequest{Name: "x1", IPAM: &apinet.IPAM{Config: []apinet.IPAMConfig{{Subnet: netip.MustParsePrefix("10.77.0.128/25")}}}}, errdefs.ErrConflict},
		{apinet.CreateRequest{Name: "x2", IPAM: &apinet.IPAM{Config: []apinet.IPAMConfig{{Subnet: netip.MustParsePrefix("10.78.0.1/24")}}}}, errdefs.ErrInvalidArgument},
		{apinet.CreateRequest{Name: "x3", IPAM: &apinet.IPAM{Config: []apinet.IPAMConfig{{Subnet: netip.MustParsePrefix("10.78.0.0/24"), Gateway: netip.MustParseAddr("10.79.0.9")}}}}, errdefs.ErrInvalidArgument},
		{apinet.CreateRequest{Name: "x5", IPAM: &apinet.IPAM{Config: []apinet.IPAMConfig{{Subnet: netip.MustParsePrefix("10.78.0.0/24"), Gateway: netip.MustParseAddr("10.78.0.255")}}}}, errdefs.ErrInvalidArgument},
		{apinet.CreateRequest{Name: "x4", Driver: "overlay"}, errdefs.ErrNotImplemented},
		{apinet.CreateRequest{Name: ""}, errdefs.ErrInvalidArgument},
	} {
		if _, err := d.NetworkCreate(ctx, c.req); !errors.Is(err, c.kind) {
			t.Errorf("create %+v = %v, want %v", c.req, err, c.kind)
		}
	}
	got, _ := d.NetworkList(ctx, map[string][]string{"label": {"tier=web"}})
	if len(got) != 1 || got[0].Name != "front" {
		t.Errorf("label filter = %+v", got)
	}
	got, _ = d.NetworkList(ctx, map[string][]string{"type": {"custom"}, "name": {"ack"}})
	if len(got) != 1 || got[0].Name != "back" {
		t.Errorf("type and name filters = %+v", got)
	}
	if _, err := d.NetworkList(ctx, map[string][]string{"bogus": {"x"}}); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("bad filter: %v", err)
	}
	if err := d.NetworkRemove(ctx, "host"); !errors.Is(err, errdefs.ErrConflict) || !strings.Contains(err.Error(), "pre-defined") {
		t.Errorf("rm host: %v", err)
	}
	if _, err := d.NetworkInspect(ctx, "nope"); !errors.Is(err, errdefs.ErrNotFound) || !strings.Contains(err.Error(), "network nope not found") {
		t.Errorf("inspect nope: %v", err)
	}
	report, err := d.NetworkPrune(ctx, nil)
	if err != nil || len(report.NetworksDeleted) != 2 {
		t.Errorf("prune = %+v, %v", report, err)
	}
	if list, _ := d.NetworkList(ctx, nil); len(list) != 3 {
		t.Errorf("after prune %d networks", len(list))
	}
}

func TestContainerEndpoints(t *testing.T) {
	d, ctrs := newTestController(t)
	ctx := context.Background()
	if _, err := d.NetworkCreate(ctx, apinet.CreateRequest{Name: "app",
		IPAM: &apinet.IPAM{Config: []apinet.IPAMConfig{{Subnet: netip.MustParsePrefix("10.79.0.0/24")}}}}); err != nil {
		t.Fatal(err)
	}
	n := 0
	mk := func(mode string, nc *apinet.NetworkingConfig) (Container, error) {
		n++
		id := strings.Repeat(string(rune('a'+n)), 64)
		c := Container{ID: id, Name: "c" + id[:1], State: container.StateCreated, Config: &container.Config{},
			HostConfig: &container.HostConfig{NetworkMode: container.NetworkMode(mode)}}
		ctrs[id] = c
		return c, d.AddContainer(ctx, id, nc, c.HostConfig)
	}
	inspect := func(c Container) *container.NetworkSettings {
		resp := container.InspectResponse{NetworkSettings: &container.NetworkSettings{}}
		d.InspectContainer(c, &resp)
		return resp.NetworkSettings
	}
	c, err := mk("app", &apinet.NetworkingConfig{EndpointsConfig: map[string]*apinet.EndpointSettings{
		"app":    {Aliases: []string{"db"}, IPAMConfig: &apinet.EndpointIPAMConfig{IPv4Address: netip.MustParseAddr("10.79.0.9")}},
		"bridge": {DriverOpts: map[string]string{optEgress: "1mbit"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	ns := inspect(c)
	app, br := ns.Networks["app"], ns.Networks["bridge"]
	if app == nil || br == nil || app.Aliases[0] != "db" || app.IPAMConfig.IPv4Address != netip.MustParseAddr("10.79.0.9") ||
		br.DriverOpts[optEgress] != "1mbit" || app.IPAddress.IsValid() || len(app.DNSNames) != 3 {
		t.Errorf("networks of a created container = %+v %+v", app, br)
	}
	if _, ok := ns.Ports[apinet.MustParsePort("8080/tcp")]; !ok || ns.SandboxKey != "" {
		t.Errorf("ports %v (want the image's 8080/tcp), sandbox %q of a stopped container", ns.Ports, ns.SandboxKey)
	}
	if eps := d.endpointsOf(c.ID); eps.ordered()[0].NetworkID != app.NetworkID || eps.ordered()[1].Egress != 1e6 {
		t.Errorf("endpoints %+v", eps.ordered())
	}
	if d.NetnsPath(c.ID, c.HostConfig) == "" {
		t.Error("a container on a user network has no netns path")
	}
	if _, err := mk("nope", nil); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("unknown network: %v", err)
	}
	if _, err := mk("bridge", &apinet.NetworkingConfig{EndpointsConfig: map[string]*apinet.EndpointSettings{
		"bridge": {DriverOpts: map[string]string{optIngress: "lots"}}}}); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("bad rate: %v", err)
	}
	none, err := mk("none", nil)
	if err != nil {
		t.Fatal(err)
	}
	if ns := inspect(none); len(ns.Networks) != 1 || ns.Networks["none"] == nil || d.NetnsPath(none.ID, none.HostConfig) != "" {
		t.Errorf("none's networks = %+v", ns.Networks)
	}
	if err := d.NetworkRemove(ctx, "app"); err != nil {
		t.Errorf("rm a network only a stopped container names: %v", err)
	}
	d.RemoveContainer(c.ID)
	if eps := d.endpointsOf(c.ID); len(eps.Endpoints) != 0 {
		t.Errorf("endpoints left after rm: %+v", eps)
	}
}

// Create and destroy reach the event publisher with docker's attributes.
func TestNetworkEvents(t *testing.T) {
	d, _ := newTestController(t)
	ctx := context.Background()
	resp, err := d.NetworkCreate(ctx, apinet.CreateRequest{Name: "ev"})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.NetworkRemove(ctx, "ev"); err != nil {
		t.Fatal(err)
	}
	log := *d.events.(*eventLog)
	if len(log) != 2 || log[0].Action != "create" || log[1].Action != "destroy" || log[0].Type != events.NetworkEventType ||
		log[0].Actor.ID != resp.ID || log[0].Actor.Attributes["name"] != "ev" || log[0].Actor.Attributes["type"] != "bridge" {
		t.Fatalf("events = %+v", log)
	}
}

func TestNetworkCustomGateway(t *testing.T) {
	d, _ := newTestController(t)
	ctx := context.Background()
	gw := netip.MustParseAddr("10.81.0.254")
	resp, err := d.NetworkCreate(ctx, apinet.CreateRequest{Name: "gw",
		IPAM: &apinet.IPAM{Config: []apinet.IPAMConfig{{Subnet: netip.MustParsePrefix("10.81.0.0/24"), Gateway: gw}}}})
	if err != nil {
		t.Fatal(err)
	}
	n, err := d.NetworkInspect(ctx, resp.ID)
	if err != nil || len(n.IPAM.Config) != 1 || n.IPAM.Config[0].Gateway != gw {
		t.Fatalf("inspect = %+v, %v", n.IPAM, err)
	}
	rec, err := d.findNetwork("gw")
	if err != nil {
		t.Fatal(err)
	}
	d.mu.Lock()
	m, err := d.ipamOf(rec)
	d.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	// The first address is a container's now; the gateway is never handed out.
	if a, err := m.Allocate("c1"); err != nil || a != netip.MustParseAddr("10.81.0.1") {
		t.Errorf("first allocation = %s, %v, want 10.81.0.1", a, err)
	}
	if err := m.AllocateAddr(gw, "c2"); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("allocating the gateway: %v", err)
	}
}

// TestNetworkDuplicateName: a second network of a taken name only when
// asked (CheckDuplicate=false); the name is then ambiguous, listing both
// ids, and each id still finds its network.
func TestNetworkDuplicateName(t *testing.T) {
	d, _ := newTestController(t)
	ctx := context.Background()
	a, err := d.NetworkCreate(ctx, apinet.CreateRequest{Name: "twin"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.NetworkCreate(ctx, apinet.CreateRequest{Name: "twin"}); !errors.Is(err, errdefs.ErrConflict) {
		t.Fatalf("second create without duplicate: %v", err)
	}
	b, err := d.NetworkCreateDuplicate(ctx, apinet.CreateRequest{Name: "twin"})
	if err != nil || b.ID == a.ID {
		t.Fatalf("duplicate create = %+v, %v", b, err)
	}
	if _, err := d.NetworkCreateDuplicate(ctx, apinet.CreateRequest{Name: "bridge"}); !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("duplicate of a predefined network: %v", err)
	}
	_, err = d.NetworkInspect(ctx, "twin")
	if !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), "ambiguous") || !strings.Contains(err.Error(), a.ID) || !strings.Contains(err.Error(), b.ID) {
		t.Errorf("inspect by the shared name: %v", err)
	}
	for _, id := range []string{a.ID, b.ID} {
		if n, err := d.NetworkInspect(ctx, id); err != nil || n.ID != id {
			t.Errorf("inspect %s = %s, %v", id, n.ID, err)
		}
		if err := d.NetworkRemove(ctx, id); err != nil {
			t.Errorf("rm %s: %v", id, err)
		}
	}
}

// TestNetworkIPRange: IPRange and AuxiliaryAddresses are shown back as
// dockerd does and narrow what containers get; IPAM Options are null when
// the request had none.
func TestNetworkIPRange(t *testing.T) {
	d, _ := newTestController(t)
	ctx := context.Background()
	cfg := apinet.IPAMConfig{Subnet: netip.MustParsePrefix("10.82.0.0/16"), IPRange: netip.MustParsePrefix("10.82.5.0/24"),
		Gateway: netip.MustParseAddr("10.82.5.254"), AuxAddress: map[string]netip.Addr{"a": netip.MustParseAddr("10.82.5.1")}}
	if _, err := d.NetworkCreate(ctx, apinet.CreateRequest{Name: "ranged", IPAM: &apinet.IPAM{Config: []apinet.IPAMConfig{cfg}}}); err != nil {
		t.Fatal(err)
	}
	n, err := d.NetworkInspect(ctx, "ranged")
	if err != nil || n.IPAM.Options != nil || len(n.IPAM.Config) != 1 || n.IPAM.Config[0].IPRange != cfg.IPRange ||
		n.IPAM.Config[0].AuxAddress["a"] != cfg.AuxAddress["a"] || n.IPAM.Config[0].Gateway != cfg.Gateway {
		t.Fatalf("inspect = %+v, %v", n.IPAM, err)
	}
	rec, err := d.findNetwork("ranged")
	if err != nil {
		t.Fatal(err)
	}
	d.mu.Lock()
	m, err := d.ipamOf(rec)
	d.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	// The range's own first address is a host address of the /16 (dockerd
	// hands it out too); .1 is reserved.
	for _, want := range []string{"10.82.5.0", "10.82.5.2"} {
		if a, err := m.Allocate("c1"); err != nil || a != netip.MustParseAddr(want) {
			t.Errorf("allocation = %s, %v, want %s", a, err, want)
		}
	}
	bad := cfg
	bad.IPRange = netip.MustParsePrefix("10.83.0.0/24")
	if _, err := d.NetworkCreate(ctx, apinet.CreateRequest{Name: "badrange", IPAM: &apinet.IPAM{Config: []apinet.IPAMConfig{bad}}}); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("range outside the subnet: %v", err)
	}
}
