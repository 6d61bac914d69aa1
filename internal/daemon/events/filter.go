package events

import (
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
	return anyOf("type", func(v string) bool { return v == string(m.Type) }) &&
		anyOf("event", func(v string) bool { return v == string(m.Action) }) &&
		anyOf("container", nameOrID(events.ContainerEventType)) &&
		anyOf("volume", nameOrID(events.VolumeEventType)) &&
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
