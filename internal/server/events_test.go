package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/system"

	eventbus "github.com/pier-engine/pier/internal/daemon/events"
)

// fakeEvents is a container backend with events from a real bus, which
// selects them; it records the filter the server asked for and sees the
// subscription's end.
type fakeEvents struct {
	fakeContainers
	bus       *eventbus.Bus
	filters   chan eventbus.Filter
	cancelled chan struct{}
	pruned    map[string][]string
}

func (f *fakeEvents) SubscribeEvents(filter eventbus.Filter) ([]events.Message, <-chan events.Message, func()) {
	f.filters <- filter
	past, live, cancel := f.bus.Subscribe(filter)
	return past, live, func() { cancel(); close(f.cancelled) }
}

func (f *fakeEvents) SystemDF(context.Context) (system.DiskUsage, error) {
	return system.DiskUsage{ImageUsage: &image.DiskUsage{TotalSize: 42, Items: []image.Summary{{ID: "sha256:1", Containers: 1}}}}, nil
}

func (f *fakeEvents) ContainersPrune(_ context.Context, filters map[string][]string) (container.PruneReport, error) {
	f.pruned = filters
	return container.PruneReport{ContainersDeleted: []string{"abc"}, SpaceReclaimed: 7}, nil
}

func ev(typ events.Type, action events.Action, id, name string) events.Message {
	return events.Message{Type: typ, Action: action,
		Actor: events.Actor{ID: id, Attributes: map[string]string{"name": name, "image": "busybox:latest"}}}
}

func newEventServer(t *testing.T, f *fakeEvents) *httptest.Server {
	f.bus, f.filters, f.cancelled = eventbus.NewBus(), make(chan eventbus.Filter, 1), make(chan struct{})
	ts := httptest.NewServer(New(Config{Backend: &fakeBackend{}, Containers: f, Events: f, DiskUsage: f, Version: "1"}))
	t.Cleanup(ts.Close)
	return ts
}

func readEvents(t *testing.T, sc *bufio.Scanner, n int) []string {
	t.Helper()
	var out []string
	for len(out) < n && sc.Scan() {
		var m events.Message
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		out = append(out, fmt.Sprintf("%s %s %s", m.Type, m.Action, m.Actor.ID))
	}
	return out
}

func TestEventsReplayFilterAndFollow(t *testing.T) {
	f := &fakeEvents{}
	ts := newEventServer(t, f)
	f.bus.Publish(ev("container", "create", "c1", "x"))
	f.bus.Publish(ev("image", "pull", "busybox:latest", "busybox:latest"))
	f.bus.Publish(ev("container", "create", "c2", "y"))
	f.bus.Publish(ev("container", "start", "c1", "x"))
	q := url.Values{"since": {"0"}, "filters": {`{"container":{"x":true}}`}}
	resp, err := http.Get(ts.URL + "/v1.51/events?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if got := <-f.filters; !got.Since.Equal(time.Unix(0, 1)) || !got.Until.IsZero() || got.Args["container"][0] != "x" {
		t.Fatalf("filter = %+v", got)
	}
	sc := bufio.NewScanner(resp.Body)
	got := readEvents(t, sc, 2)
	if strings.Join(got, ",") != "container create c1,container start c1" {
		t.Fatalf("replayed %q", got)
	}
	f.bus.Publish(ev("container", "die", "c2", "y"))
	f.bus.Publish(ev("container", "die", "c1", "x"))
	if got := readEvents(t, sc, 1); len(got) != 1 || got[0] != "container die c1" {
		t.Fatalf("followed %q", got)
	}
	resp.Body.Close()
	select {
	case <-f.cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("subscription not cancelled when the client went away")
	}
}

func TestEventsUntilEnds(t *testing.T) {
	f := &fakeEvents{}
	ts := newEventServer(t, f)
	until := time.Now().Add(300 * time.Millisecond)
	q := url.Values{"until": {fmt.Sprintf("%d.%09d", until.Unix(), until.Nanosecond())}, "filters": {`{"type":{"image":true}}`}}
	start := time.Now()
	resp, err := http.Get(ts.URL + "/events?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	f.bus.Publish(ev("container", "start", "c1", "x"))
	f.bus.Publish(ev("image", "tag", "i1", "busybox:latest"))
	got := readEvents(t, bufio.NewScanner(resp.Body), 10)
	if strings.Join(got, ",") != "image tag i1" {
		t.Fatalf("got %q", got)
	}
	if d := time.Since(start); d < 250*time.Millisecond || d > 5*time.Second {
		t.Fatalf("stream ended after %v, want at until", d)
	}
}

func TestEventsBadTimestamp(t *testing.T) {
	ts := newEventServer(t, &fakeEvents{})
	resp, err := http.Get(ts.URL + "/events?since=yesterday")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

func TestSystemDFAndPrune(t *testing.T) {
	f := &fakeEvents{}
	ts := newEventServer(t, f)
	resp, err := http.Get(ts.URL + "/v1.50/system/df")
	if err != nil {
		t.Fatal(err)
	}
	var du legacyDiskUsage
	err = json.NewDecoder(resp.Body).Decode(&du)
	resp.Body.Close()
	if err != nil || du.LayersSize != 42 || len(du.Images) != 1 || du.Containers == nil || du.Volumes == nil {
		t.Fatalf("df = %+v, %v", du, err)
	}
	resp, err = http.Post(ts.URL+`/containers/prune?filters={"label":{"a=b":true}}`, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var rep container.PruneReport
	err = json.NewDecoder(resp.Body).Decode(&rep)
	resp.Body.Close()
	if err != nil || len(rep.ContainersDeleted) != 1 || rep.SpaceReclaimed != 7 || f.pruned["label"][0] != "a=b" {
		t.Fatalf("prune = %+v, %v, filters %v", rep, err, f.pruned)
	}
}
