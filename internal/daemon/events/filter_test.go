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

func TestFilterEveryTypeAndFuzzyActions(t *testing.T) {
	now := time.Now()
	net := ev("network", "connect", "n123", "mynet", now)
	daemon := ev("daemon", "reload", "d123", "host1", now)
	health := ev("container", "health_status: healthy", "c123", "web", now)
	exec := ev("container", "exec_start: sh -c true", "c123", "web", now)
	for _, c := range []struct {
		m       events.Message
		filters map[string][]string
		want    bool
	}{
		{net, map[string][]string{"network": {"mynet"}}, true},
		{net, map[string][]string{"network": {"n12"}}, true},
		{net, map[string][]string{"network": {"other"}}, false},
		{health, map[string][]string{"network": {"mynet"}}, false},
		{daemon, map[string][]string{"daemon": {"host1"}}, true},
		{daemon, map[string][]string{"type": {"daemon"}, "event": {"reload"}}, true},
		{health, map[string][]string{"event": {"health_status"}}, true},
		{exec, map[string][]string{"event": {"exec_start"}}, true},
		{exec, map[string][]string{"event": {"exec_create"}}, false},
		{exec, map[string][]string{"event": {"exec"}}, false}, // exact unless a fuzzy name is asked
	} {
		if got := (Filter{Args: c.filters}).Match(c.m); got != c.want {
			t.Errorf("%s %q with %v = %v, want %v", c.m.Type, c.m.Action, c.filters, got, c.want)
		}
	}
}
