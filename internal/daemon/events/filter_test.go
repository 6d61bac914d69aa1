package events

import (
	"testing"
	"time"

	"github.com/moby/moby/api/types/events"
)

func ev(typ events.Type, action events.Action, id, name string, at time.Time) events.Message {
	return events.Message{Type: typ, Action: action, Scope: "local", Time: at.Unix(), TimeNano: at.UnixNano(),
		Actor: events.Actor{ID: id, Attributes: map[string]string{"name": name, "image": "busybox:latest", "tier": "web"}}}
}

func TestFilterMatch(t *testing.T) {
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
		if got := (Filter{Args: c.filters}).Match(m); got != c.want {
			t.Errorf("%v: got %v", c.filters, got)
		}
	}
}
