package daemon

import (
	"context"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"

	eventbus "github.com/pier-engine/pier/internal/daemon/events"
)

func TestContainerEventsAndPrune(t *testing.T) {
	d := newContainerDaemon(t)
	ctx := context.Background()
	_, live, cancel := d.SubscribeEvents(eventbus.Filter{})
	defer cancel()
	id := create(t, d, "web", container.Config{Labels: map[string]string{"tier": "front"}})
	keep := create(t, d, "keep", container.Config{Labels: map[string]string{"keep": "1"}})
	m := <-live
	if m.Type != events.ContainerEventType || m.Action != events.ActionCreate || m.Actor.ID != id ||
		m.Actor.Attributes["name"] != "web" || m.Actor.Attributes["image"] != "img" || m.Actor.Attributes["tier"] != "front" {
		t.Fatalf("create event = %+v", m)
	}
	<-live // keep's create
	rep, err := d.ContainersPrune(ctx, map[string][]string{"label!": {"keep"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.ContainersDeleted) != 1 || rep.ContainersDeleted[0] != id {
		t.Fatalf("pruned %v, want only %s", rep.ContainersDeleted, id)
	}
	if m := <-live; m.Action != events.ActionDestroy || m.Actor.ID != id {
		t.Fatalf("event after prune = %+v, want destroy of %s", m, id)
	}
	if m := <-live; m.Action != events.ActionPrune {
		t.Fatalf("event = %+v, want prune", m)
	}
	if _, err := d.ContainerInspect(ctx, keep); err != nil {
		t.Fatalf("kept container: %v", err)
	}
	if _, err := d.ContainersPrune(ctx, map[string][]string{"bogus": {"x"}}); err == nil {
		t.Fatal("unknown prune filter accepted")
	}
}

func TestSystemDF(t *testing.T) {
	d := newContainerDaemon(t)
	create(t, d, "web", container.Config{})
	du, err := d.SystemDF(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if du.ImageUsage == nil || du.ContainerUsage == nil || du.VolumeUsage == nil {
		t.Fatalf("missing usage: %+v", du)
	}
	var img int64 = -1
	for _, s := range du.ImageUsage.Items {
		for _, tag := range s.RepoTags {
			if tag == "img:latest" {
				img = s.Containers
			}
		}
	}
	if img != 1 {
		t.Fatalf("img's containers = %d, want 1 (%+v)", img, du.ImageUsage.Items)
	}
	if du.ImageUsage.TotalSize <= 0 || du.ContainerUsage.TotalCount != 1 || du.ContainerUsage.ActiveCount != 0 {
		t.Fatalf("usage = images %+v containers %+v", du.ImageUsage, du.ContainerUsage)
	}
}
