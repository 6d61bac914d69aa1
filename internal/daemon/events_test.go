package daemon

import (
	"context"
	"fmt"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
)

func msg(i int) events.Message {
	return events.Message{Type: events.ContainerEventType, Action: events.ActionStart, Actor: events.Actor{ID: fmt.Sprint(i)}}
}

func TestBusOrderAndReplay(t *testing.T) {
	b := newEventBus()
	b.publish(msg(0))
	b.publish(msg(1))
	past, live, cancel := b.subscribe()
	defer cancel()
	if len(past) != 2 || past[0].Actor.ID != "0" || past[1].Actor.ID != "1" {
		t.Fatalf("past = %+v, want events 0 and 1 in order", past)
	}
	if past[0].Scope != "local" || past[0].TimeNano == 0 || past[0].Time != past[0].TimeNano/1e9 {
		t.Fatalf("event not stamped: %+v", past[0])
	}
	for i := 2; i < 5; i++ {
		b.publish(msg(i))
	}
	for i := 2; i < 5; i++ {
		if m := <-live; m.Actor.ID != fmt.Sprint(i) {
			t.Fatalf("live event %d is %s", i, m.Actor.ID)
		}
	}
	cancel()
	if _, ok := <-live; ok {
		t.Fatal("channel open after cancel")
	}
	cancel() // twice is harmless
}

func TestBusKeepsLastHistorySize(t *testing.T) {
	b := newEventBus()
	for i := range historySize + 10 {
		b.publish(msg(i))
	}
	past, _, cancel := b.subscribe()
	defer cancel()
	if len(past) != historySize || past[0].Actor.ID != "10" || past[len(past)-1].Actor.ID != fmt.Sprint(historySize+9) {
		t.Fatalf("kept %d events from %s to %s", len(past), past[0].Actor.ID, past[len(past)-1].Actor.ID)
	}
}

// A subscriber that does not read is dropped; the bus and the others go on.
func TestBusDropsSlowSubscriber(t *testing.T) {
	b := newEventBus()
	_, slow, cancelSlow := b.subscribe()
	defer cancelSlow()
	_, fast, cancelFast := b.subscribe()
	defer cancelFast()
	got := 0
	for i := range subscriberBuffer + 5 {
		b.publish(msg(i)) // must not block
		<-fast
		got++
	}
	n := 0
	for range slow {
		n++
	}
	if n != subscriberBuffer {
		t.Fatalf("slow subscriber got %d events before the end, want %d", n, subscriberBuffer)
	}
	if got != subscriberBuffer+5 {
		t.Fatalf("fast subscriber got %d", got)
	}
	cancelSlow() // after the drop: no double close
}

func TestContainerEventsAndPrune(t *testing.T) {
	d := newContainerDaemon(t)
	ctx := context.Background()
	_, live, cancel := d.SubscribeEvents()
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
