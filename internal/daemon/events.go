package daemon

import (
	"strconv"
	"sync"
	"time"

	"github.com/moby/moby/api/types/events"

	"github.com/pier-engine/pier/internal/image"
)

// historySize is how many events the bus keeps for subscribers that ask
// for the past (docker events --since).
const historySize = 1000

// subscriberBuffer is how far a subscriber may fall behind before it is
// dropped: the daemon never waits for a reader.
const subscriberBuffer = 256

// eventBus fans the daemon's events out to subscribers. Publish never
// blocks: a subscriber whose buffer is full has its channel closed and is
// forgotten, and its reader sees the end of the stream.
type eventBus struct {
	mu   sync.Mutex
	past []events.Message             // Guarded by mu; oldest first, at most historySize.
	subs map[chan events.Message]bool // Guarded by mu.
}

func newEventBus() *eventBus {
	return &eventBus{subs: map[chan events.Message]bool{}}
}

// publish stamps m with the time, keeps it and hands it to every
// subscriber that has room.
func (b *eventBus) publish(m events.Message) {
	now := time.Now()
	m.Scope, m.Time, m.TimeNano = "local", now.Unix(), now.UnixNano()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.past) == historySize {
		b.past = append(b.past[:0], b.past[1:]...)
	}
	b.past = append(b.past, m)
	for c := range b.subs {
		select {
		case c <- m:
		default:
			delete(b.subs, c)
			close(c)
		}
	}
}

// subscribe returns the kept events and a channel of those published
// from now on, with nothing lost or repeated in between. cancel ends the
// subscription; the channel is closed by then.
func (b *eventBus) subscribe() (past []events.Message, live <-chan events.Message, cancel func()) {
	c := make(chan events.Message, subscriberBuffer)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.subs[c] = true
	past = append([]events.Message(nil), b.past...)
	return past, c, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.subs[c] {
			delete(b.subs, c)
			close(c)
		}
	}
}

func (d *Daemon) bus() *eventBus {
	d.eventsOnce.Do(func() { d.events = newEventBus() })
	return d.events
}

// SubscribeEvents returns the events kept so far (at most the last
// historySize) and a channel of the next ones. The channel is closed when
// cancel is called or when the reader falls too far behind.
func (d *Daemon) SubscribeEvents() (past []events.Message, live <-chan events.Message, cancel func()) {
	return d.bus().subscribe()
}

// emit publishes an event about the object id of kind typ.
func (d *Daemon) emit(typ events.Type, action events.Action, id string, attrs map[string]string) {
	if attrs == nil {
		attrs = map[string]string{}
	}
	d.bus().publish(events.Message{Type: typ, Action: action, Actor: events.Actor{ID: id, Attributes: attrs}})
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
