package daemon

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"

	"github.com/pier-engine/pier/internal/errdefs"
)

func TestNetworkRecords(t *testing.T) {
	d := newTestDaemon(t, "")
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
	resp, err := d.NetworkCreate(ctx, network.CreateRequest{Name: "front", Labels: map[string]string{"tier": "web"},
		IPAM: &network.IPAM{Config: []network.IPAMConfig{{Subnet: sub}}}})
	if err != nil || len(resp.ID) != 64 {
		t.Fatalf("create = %+v, %v", resp, err)
	}
	back, err := d.NetworkCreate(ctx, network.CreateRequest{Name: "back"})
	if err != nil {
		t.Fatal(err)
	}
	n, err := d.NetworkInspect(ctx, "back")
	if err != nil || n.ID != back.ID || n.IPAM.Config[0].Subnet.Overlaps(sub) || n.IPAM.Config[0].Subnet.Overlaps(def.IPAM.Config[0].Subnet) {
		t.Errorf("auto subnet of back = %+v, %v", n.IPAM, err)
	}
	for _, c := range []struct {
		req  network.CreateRequest
		kind error
	}{
		{network.CreateRequest{Name: "front"}, errdefs.ErrConflict},
		{network.CreateRequest{Name: "bridge"}, errdefs.ErrConflict},
		{network.CreateRequest{Name: "x1", IPAM: &network.IPAM{Config: []network.IPAMConfig{{Subnet: netip.MustParsePrefix("10.77.0.128/25")}}}}, errdefs.ErrConflict},
		{network.CreateRequest{Name: "x2", IPAM: &network.IPAM{Config: []network.IPAMConfig{{Subnet: netip.MustParsePrefix("10.78.0.1/24")}}}}, errdefs.ErrInvalidArgument},
		{network.CreateRequest{Name: "x3", IPAM: &network.IPAM{Config: []network.IPAMConfig{{Subnet: netip.MustParsePrefix("10.78.0.0/24"), Gateway: netip.MustParseAddr("10.78.0.9")}}}}, errdefs.ErrNotImplemented},
		{network.CreateRequest{Name: "x4", Driver: "overlay"}, errdefs.ErrNotImplemented},
		{network.CreateRequest{Name: ""}, errdefs.ErrInvalidArgument},
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
	d := newContainerDaemon(t)
	ctx := context.Background()
	if _, err := d.NetworkCreate(ctx, network.CreateRequest{Name: "app",
		IPAM: &network.IPAM{Config: []network.IPAMConfig{{Subnet: netip.MustParsePrefix("10.79.0.0/24")}}}}); err != nil {
		t.Fatal(err)
	}
	mk := func(mode string, nc *network.NetworkingConfig) (string, error) {
		resp, err := d.ContainerCreate(ctx, "", container.CreateRequest{Config: &container.Config{Image: "img"},
			HostConfig: &container.HostConfig{NetworkMode: container.NetworkMode(mode)}, NetworkingConfig: nc})
		return resp.ID, err
	}
	id, err := mk("app", &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{
		"app":    {Aliases: []string{"db"}, IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: netip.MustParseAddr("10.79.0.9")}},
		"bridge": {DriverOpts: map[string]string{optEgress: "1mbit"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := d.ContainerInspect(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	app, br := c.NetworkSettings.Networks["app"], c.NetworkSettings.Networks["bridge"]
	if app == nil || br == nil || app.Aliases[0] != "db" || app.IPAMConfig.IPv4Address != netip.MustParseAddr("10.79.0.9") ||
		br.DriverOpts[optEgress] != "1mbit" || app.IPAddress.IsValid() || len(app.DNSNames) != 3 {
		t.Errorf("networks of a created container = %+v %+v", app, br)
	}
	if eps := d.endpointsOf(id); eps.ordered()[0].NetworkID != app.NetworkID || eps.ordered()[1].Egress != 1e6 {
		t.Errorf("endpoints %+v", eps.ordered())
	}
	if d.netnsPath(id, c.HostConfig) == "" {
		t.Error("a container on a user network has no netns path")
	}
	if _, err := mk("nope", nil); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("unknown network: %v", err)
	}
	if _, err := mk("bridge", &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{
		"bridge": {DriverOpts: map[string]string{optIngress: "lots"}}}}); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("bad rate: %v", err)
	}
	none, err := mk("none", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := d.ContainerInspect(ctx, none); len(c.NetworkSettings.Networks) != 1 || c.NetworkSettings.Networks["none"] == nil {
		t.Errorf("none's networks = %+v", c.NetworkSettings.Networks)
	}
	if err := d.NetworkRemove(ctx, "app"); err != nil {
		t.Errorf("rm a network only a stopped container names: %v", err)
	}
	if err := d.ContainerRemove(ctx, id, false); err != nil {
		t.Fatal(err)
	}
	if eps := d.endpointsOf(id); len(eps.Endpoints) != 0 {
		t.Errorf("endpoints left after rm: %+v", eps)
	}
}
