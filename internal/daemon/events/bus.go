package events

import (
	"sync"
	"time"

	"github.com/moby/moby/api/types/events"
)

// historySize is how many events the bus keeps for subscribers that ask
// for the past (docker events --since).
const historySize = 1000

// subscriberBuffer is how far a subscriber may fall behind before it is
// dropped: the daemon never waits for a reader.
const subscriberBuffer = 256

// Bus fans the engine's events out to subscribers. Publish never blocks:
// a subscriber whose buffer is full has its channel closed and is
// forgotten, and its reader sees the end of the stream. The zero Bus is
// not usable; make one with NewBus.
type Bus struct {
	mu   sync.Mutex
	past []events.Message     // Guarded by mu; oldest first, at most historySize.
	subs map[*subscriber]bool // Guarded by mu.
}

// subscriber is one reader and what it asked for.
type subscriber struct {
	c      chan events.Message
	filter Filter
}

// NewBus makes an empty bus.
func NewBus() *Bus {
	return &Bus{subs: map[*subscriber]bool{}}
}

// Publish stamps m with the time, keeps it and hands it to every
// subscriber it matches that has room. A subscriber whose Until it passes
// is done, and its channel closed.
func (b *Bus) Publish(m events.Message) {
	now := time.Now()
	m.Scope, m.Time, m.TimeNano = "local", now.Unix(), now.UnixNano()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.past) == historySize {
		b.past = append(b.past[:0], b.past[1:]...)
	}
	b.past = append(b.past, m)
	for s := range b.subs {
		if s.filter.after(m) {
			b.drop(s)
			continue
		}
		if !s.filter.Match(m) {
			continue
		}
		select {
		case s.c <- m:
		default:
			b.drop(s)
		}
	}
}

// drop ends subscription s; b.mu is held.
func (b *Bus) drop(s *subscriber) {
	if b.subs[s] {
		delete(b.subs, s)
		close(s.c)
	}
}

// Subscribe returns the kept events f selects (none when f.Since is
// zero) and a channel of the next ones it selects, with nothing lost or
// repeated in between. The channel is closed when cancel is called, when
// f.Until passes, or when the reader falls too far behind; calling cancel
// more than once is harmless.
func (b *Bus) Subscribe(f Filter) (past []events.Message, live <-chan events.Message, cancel func()) {
	s := &subscriber{c: make(chan events.Message, subscriberBuffer), filter: f}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !f.Since.IsZero() {
		for _, m := range b.past {
			if m.TimeNano >= f.Since.UnixNano() && !f.after(m) && f.Match(m) {
				past = append(past, m)
			}
		}
	}
	b.subs[s] = true
	cancel = func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.drop(s)
	}
	if !f.Until.IsZero() {
		if wait := time.Until(f.Until); wait <= 0 {
			b.drop(s)
		} else {
			t := time.AfterFunc(wait, cancel)
			cancel = func() {
				t.Stop()
				b.mu.Lock()
				defer b.mu.Unlock()
				b.drop(s)
			}
		}
	}
	return past, s.c, cancel
}
