package daemon

import (
	"context"
	"errors"
	"net/netip"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"

	"github.com/pier-engine/pier/internal/errdefs"
)

// The daemon hands its containers to the network controller: a created
// container's endpoints show in inspect and ps, and go with it.
func TestContainerNetworks(t *testing.T) {
	d := newContainerDaemon(t)
	ctx := context.Background()
	if _, err := d.Networks().NetworkCreate(ctx, network.CreateRequest{Name: "app",
		IPAM: &network.IPAM{Config: []network.IPAMConfig{{Subnet: netip.MustParsePrefix("10.79.0.0/24")}}}}); err != nil {
		t.Fatal(err)
	}
	resp, err := d.ContainerCreate(ctx, "web", container.CreateRequest{Config: &container.Config{Image: "img"},
		HostConfig: &container.HostConfig{NetworkMode: "app"}, NetworkingConfig: &network.NetworkingConfig{
			EndpointsConfig: map[string]*network.EndpointSettings{"app": {Aliases: []string{"db"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := d.ContainerInspect(ctx, resp.ID)
	if err != nil {
		t.Fatal(err)
	}
	app := c.NetworkSettings.Networks["app"]
	if app == nil || app.Aliases[0] != "db" || len(app.DNSNames) != 3 || app.DNSNames[0] != "web" {
		t.Errorf("inspect's networks = %+v", c.NetworkSettings.Networks)
	}
	if d.netnsPath(resp.ID, c.HostConfig) == "" {
		t.Error("a container on a user network has no netns path")
	}
	list, err := d.ContainerList(ctx, true, nil)
	if err != nil || len(list) != 1 || list[0].NetworkSettings == nil || list[0].NetworkSettings.Networks["app"] == nil {
		t.Errorf("ps = %+v, %v", list, err)
	}
	if err := d.Networks().NetworkConnect(ctx, "bridge", network.ConnectRequest{Container: "web"}); err != nil {
		t.Fatal(err)
	}
	if c, _ := d.ContainerInspect(ctx, "web"); c.NetworkSettings.Networks["bridge"] == nil {
		t.Errorf("connect of a stopped container: networks = %+v", c.NetworkSettings.Networks)
	}
	if err := d.ContainerRemove(ctx, resp.ID, false); err != nil {
		t.Fatal(err)
	}
	var eps struct{}
	if err := d.md.Get("endpoints", resp.ID, &eps); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("endpoints record after rm: %v", err)
	}
}
