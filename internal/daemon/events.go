package daemon

import (
	"strconv"

	"github.com/moby/moby/api/types/events"

	eventbus "github.com/pier-engine/pier/internal/daemon/events"
	"github.com/pier-engine/pier/internal/image"
)

// SubscribeEvents returns the kept events f selects (at most the bus's
// history) and a channel of the next ones. The channel is closed when
// cancel is called, when f.Until passes, or when the reader falls too far
// behind.
func (d *Daemon) SubscribeEvents(f eventbus.Filter) (past []events.Message, live <-chan events.Message, cancel func()) {
	return d.events.Subscribe(f)
}

// emit publishes an event about the object id of kind typ.
func (d *Daemon) emit(typ events.Type, action events.Action, id string, attrs map[string]string) {
	if attrs == nil {
		attrs = map[string]string{}
	}
	d.events.Publish(events.Message{Type: typ, Action: action, Actor: events.Actor{ID: id, Attributes: attrs}})
}

// emitContainer publishes a container event with docker's attributes:
// the container's labels, name and image, then extra key/value pairs.
func (d *Daemon) emitContainer(r containerRecord, action events.Action, extra ...string) {
	attrs := map[string]string{}
	if r.Config != nil {
		for k, v := range r.Config.Labels {
			attrs[k] = v
		}
	}
	attrs["name"], attrs["image"] = r.Name, r.ImageRef
	for i := 0; i+1 < len(extra); i += 2 {
		attrs[extra[i]] = extra[i+1]
	}
	d.emit(events.ContainerEventType, action, r.ID, attrs)
}

// emitDie publishes a container's end with its exit code.
func (d *Daemon) emitDie(r containerRecord) {
	d.emitContainer(r, events.ActionDie, "exitCode", strconv.Itoa(r.ExitCode))
}

// emitImage publishes an image event; ref is how the user named it.
func (d *Daemon) emitImage(action events.Action, id, ref string) {
	d.emit(events.ImageEventType, action, id, map[string]string{"name": ref})
}

// emitVolume publishes a volume event.
func (d *Daemon) emitVolume(action events.Action, name string) {
	d.emit(events.VolumeEventType, action, name, map[string]string{"driver": "local"})
}

// emitImageOf publishes an event about img, named by its first tag.
func (d *Daemon) emitImageOf(action events.Action, img *image.Image) {
	name := img.ID
	if len(img.RepoTags) > 0 {
		name = img.RepoTags[0]
	}
	d.emitImage(action, img.ID, name)
}

// emitImageDeleted publishes an untag or delete event for each of del.
func (d *Daemon) emitImageDeleted(del []image.Deleted) {
	for _, x := range del {
		if x.Untagged != "" {
			d.emitImage(events.ActionUnTag, x.Untagged, x.Untagged)
		}
		if x.Deleted != "" {
			d.emitImage(events.ActionDelete, x.Deleted, x.Deleted)
		}
	}
}
