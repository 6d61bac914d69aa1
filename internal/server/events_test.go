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
)

// fakeEvents is a container backend with events: past is what it kept,
// live what it sends after.
type fakeEvents struct {
	fakeContainers
	past      []events.Message
	live      chan events.Message
	cancelled chan struct{}
	pruned    map[string][]string
}

func (f *fakeEvents) SubscribeEvents() ([]events.Message, <-chan events.Message, func()) {
	return f.past, f.live, func() { close(f.cancelled) }
}

func (f *fakeEvents) SystemDF(context.Context) (system.DiskUsage, error) {
	return system.DiskUsage{ImageUsage: &image.DiskUsage{TotalSize: 42, Items: []image.Summary{{ID: "sha256:1", Containers: 1}}}}, nil
}

func (f *fakeEvents) ContainersPrune(_ context.Context, filters map[string][]string) (container.PruneReport, error) {
	f.pruned = filters
	return container.PruneReport{ContainersDeleted: []string{"abc"}, SpaceReclaimed: 7}, nil
}

func ev(typ events.Type, action events.Action, id, name string, at time.Time) events.Message {
	return events.Message{Type: typ, Action: action, Scope: "local", Time: at.Unix(), TimeNano: at.UnixNano(),
		Actor: events.Actor{ID: id, Attributes: map[string]string{"name": name, "image": "busybox:latest", "tier": "web"}}}
}

func newEventServer(t *testing.T, f *fakeEvents) *httptest.Server {
	f.live, f.cancelled = make(chan events.Message, 10), make(chan struct{})
	ts := httptest.NewServer(New(Config{Backend: &fakeBackend{}, Containers: f, Version: "1"}))
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
	t0 := time.Now().Add(-time.Minute)
	f := &fakeEvents{past: []events.Message{
		ev("container", "create", "old", "x", t0.Add(-time.Hour)),
		ev("container", "create", "c1", "x", t0),
		ev("image", "pull", "busybox:latest", "busybox:latest", t0),
		ev("container", "create", "c2", "y", t0),
		ev("container", "start", "c1", "x", t0.Add(time.Second)),
	}}
	ts := newEventServer(t, f)
	q := url.Values{"since": {fmt.Sprint(t0.Unix())}, "filters": {`{"container":{"x":true}}`}}
	resp, err := http.Get(ts.URL + "/v1.51/events?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	sc := bufio.NewScanner(resp.Body)
	got := readEvents(t, sc, 2)
	if strings.Join(got, ",") != "container create c1,container start c1" {
		t.Fatalf("replayed %q", got)
	}
	f.live <- ev("container", "die", "c2", "y", time.Now())
	f.live <- ev("container", "die", "c1", "x", time.Now())
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
	f.live <- ev("container", "start", "c1", "x", time.Now())
	f.live <- ev("image", "tag", "i1", "busybox:latest", time.Now())
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

func TestEventMatches(t *testing.T) {
	m := ev("container", "die", "abcdef", "web", time.Now())
	for _, c := range []struct {
		filters map[string][]string
		want    bool
	}{
		{nil, true},
		{map[string][]string{"container": {"web"}}, true},
		{map[string][]string{"container": {"abc"}}, true},
		{map[string][]string{"container": {"db"}}, false},
		{map[string][]string{"event": {"start", "die"}}, true},
		{map[string][]string{"event": {"start"}}, false},
		{map[string][]string{"type": {"image"}}, false},
		{map[string][]string{"image": {"busybox"}}, true},
		{map[string][]string{"label": {"tier=web"}}, true},
		{map[string][]string{"label": {"tier=db"}}, false},
		{map[string][]string{"volume": {"v"}}, false},
	} {
		if got := eventMatches(m, c.filters); got != c.want {
			t.Errorf("%v: got %v", c.filters, got)
		}
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
