package events

import (
	"fmt"
	"testing"
	"time"

	"github.com/moby/moby/api/types/events"
)

func msg(i int) events.Message {
	return events.Message{Type: events.ContainerEventType, Action: events.ActionStart, Actor: events.Actor{ID: fmt.Sprint(i)}}
}

func TestBusOrderAndReplay(t *testing.T) {
	b := NewBus()
	b.Publish(msg(0))
	b.Publish(msg(1))
	past, live, cancel := b.Subscribe(Filter{Since: time.Unix(0, 1)})
	defer cancel()
	if len(past) != 2 || past[0].Actor.ID != "0" || past[1].Actor.ID != "1" {
		t.Fatalf("past = %+v, want events 0 and 1 in order", past)
	}
	if past[0].Scope != "local" || past[0].TimeNano == 0 || past[0].Time != past[0].TimeNano/1e9 {
		t.Fatalf("event not stamped: %+v", past[0])
	}
	for i := 2; i < 5; i++ {
		b.Publish(msg(i))
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
	b := NewBus()
	for i := range historySize + 10 {
		b.Publish(msg(i))
	}
	past, _, cancel := b.Subscribe(Filter{Since: time.Unix(0, 1)})
	defer cancel()
	if len(past) != historySize || past[0].Actor.ID != "10" || past[len(past)-1].Actor.ID != fmt.Sprint(historySize+9) {
		t.Fatalf("kept %d events from %s to %s", len(past), past[0].Actor.ID, past[len(past)-1].Actor.ID)
	}
}

// A subscriber that does not read is dropped; the bus and the others go on.
func TestBusDropsSlowSubscriber(t *testing.T) {
	b := NewBus()
	_, slow, cancelSlow := b.Subscribe(Filter{Since: time.Unix(0, 1)})
	defer cancelSlow()
	_, fast, cancelFast := b.Subscribe(Filter{Since: time.Unix(0, 1)})
	defer cancelFast()
	got := 0
	for i := range subscriberBuffer + 5 {
		b.Publish(msg(i)) // must not block
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

// Since picks the kept events from a time on; without it none are replayed.
func TestBusSince(t *testing.T) {
	b := NewBus()
	b.Publish(msg(0))
	time.Sleep(2 * time.Millisecond)
	since := time.Now()
	b.Publish(msg(1))
	b.Publish(msg(2))
	past, _, cancel := b.Subscribe(Filter{Since: since})
	cancel()
	if len(past) != 2 || past[0].Actor.ID != "1" || past[1].Actor.ID != "2" {
		t.Fatalf("since: past = %+v, want events 1 and 2", past)
	}
	past, _, cancel = b.Subscribe(Filter{})
	cancel()
	if len(past) != 0 {
		t.Fatalf("no since: replayed %d events", len(past))
	}
}

// The live channel carries only matching events and closes at Until.
func TestBusFilterAndUntil(t *testing.T) {
	b := NewBus()
	start := time.Now()
	_, live, cancel := b.Subscribe(Filter{Until: start.Add(200 * time.Millisecond), Args: map[string][]string{"container": {"7"}}})
	defer cancel()
	for i := range 10 {
		b.Publish(msg(i))
	}
	var got []string
	for m := range live {
		got = append(got, m.Actor.ID)
	}
	if len(got) != 1 || got[0] != "7" {
		t.Fatalf("got %v, want only event 7", got)
	}
	if d := time.Since(start); d < 150*time.Millisecond || d > 5*time.Second {
		t.Fatalf("channel closed after %v, want at until", d)
	}
}

// An Until already past replays the window and ends at once.
func TestBusUntilPast(t *testing.T) {
	b := NewBus()
	b.Publish(msg(0))
	until := time.Now()
	time.Sleep(2 * time.Millisecond)
	b.Publish(msg(1))
	past, live, cancel := b.Subscribe(Filter{Since: time.Unix(0, 1), Until: until})
	defer cancel()
	if len(past) != 1 || past[0].Actor.ID != "0" {
		t.Fatalf("past = %+v, want event 0 only", past)
	}
	if _, ok := <-live; ok {
		t.Fatal("live open after until")
	}
}
