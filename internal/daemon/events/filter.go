package events

import (
	"slices"
	"strings"
	"time"

	"github.com/moby/moby/api/types/events"

	"github.com/pier-engine/pier/internal/filter"
)

// Filter selects the events a subscriber gets: the kept ones from Since
// on (zero: none of them, only new ones), none after Until (zero: no
// end), and only those Args match (docker's event filters, by key: every
// key must match, one of its values is enough).
type Filter struct {
	Since, Until time.Time
	Args         map[string][]string
}

// after reports whether m comes after f's Until.
func (f Filter) after(m events.Message) bool {
	return !f.Until.IsZero() && m.TimeNano > f.Until.UnixNano()
}

// Match applies f's Args to m. Keys about one kind of object (container,
// image, volume) match events of that kind only.
func (f Filter) Match(m events.Message) bool {
	attrs := m.Actor.Attributes
	anyOf := func(key string, ok func(v string) bool) bool { return filter.Any(f.Args[key], ok) }
	nameOrID := func(typ events.Type) func(string) bool {
		return func(v string) bool {
			return m.Type == typ && (v == attrs["name"] || strings.HasPrefix(m.Actor.ID, v))
		}
	}
	imageName := attrs["image"]
	if m.Type == events.ImageEventType {
		imageName = attrs["name"]
	}
	event := func(v string) bool { return v == string(m.Action) }
	if slices.ContainsFunc(f.Args["event"], fuzzyEvent) {
		// dockerd (moby#25798): "health_status" matches
		// "health_status: healthy", exec_* the action with its command.
		event = func(v string) bool { return strings.HasPrefix(string(m.Action), v) }
	}
	return anyOf("type", func(v string) bool { return v == string(m.Type) }) &&
		anyOf("event", event) &&
		anyOf("container", nameOrID(events.ContainerEventType)) &&
		anyOf("volume", nameOrID(events.VolumeEventType)) &&
		anyOf("network", nameOrID(events.NetworkEventType)) &&
		anyOf("daemon", nameOrID(events.DaemonEventType)) &&
		anyOf("plugin", nameOrID(events.PluginEventType)) &&
		anyOf("node", nameOrID(events.NodeEventType)) &&
		anyOf("service", nameOrID(events.ServiceEventType)) &&
		anyOf("secret", nameOrID(events.SecretEventType)) &&
		anyOf("config", nameOrID(events.ConfigEventType)) &&
		anyOf("image", func(v string) bool {
			return (m.Type == events.ImageEventType && v == m.Actor.ID) || v == imageName || v == stripTag(imageName)
		}) &&
		anyOf("scope", func(v string) bool { return v == m.Scope }) &&
		filter.Labels(attrs, f.Args["label"])
}

// stripTag drops a reference's tag ("busybox:latest" -> "busybox"), not
// a registry port.
func stripTag(ref string) string {
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		return ref[:i]
	}
	return ref
}

// fuzzyEvent names the actions dockerd matches by prefix once any of them
// is in the event filter: their full action carries a detail.
func fuzzyEvent(v string) bool {
	switch v {
	case "health_status", "exec_create", "exec_start", "exec_die":
		return true
	}
	return false
}
