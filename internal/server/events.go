package server

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/moby/moby/api/types/events"

	eventbus "github.com/pier-engine/pier/internal/daemon/events"
)

// EventBackend is what GET /events needs from the engine.
type EventBackend interface {
	// SubscribeEvents returns the kept events f selects and a channel of
	// the next ones it selects, with none lost in between. The channel is
	// closed after cancel, when f.Until passes, or early when the reader
	// falls too far behind.
	SubscribeEvents(f eventbus.Filter) (past []events.Message, live <-chan events.Message, cancel func())
}

// eventRouter serves GET /events.
type eventRouter struct{ b EventBackend }

func (er eventRouter) routes() []route {
	return []route{{"GET /events", er.getEvents}}
}

// getEvents streams events as JSON objects, one a line: first the kept
// ones from since on (none without since), then new ones until until
// passes or the client goes away. The bus selects them; this only writes.
func (er eventRouter) getEvents(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	since, err := eventTime(q.Get("since"))
	if err != nil {
		return err
	}
	until, err := eventTime(q.Get("until"))
	if err != nil {
		return err
	}
	filters, err := queryFilters(r)
	if err != nil {
		return err
	}
	past, live, cancel := er.b.SubscribeEvents(eventbus.Filter{Since: since, Until: until, Args: filters})
	defer cancel()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	flush := httpFlush(w)
	enc := json.NewEncoder(w)
	for _, m := range past {
		if err := enc.Encode(m); err != nil {
			return err
		}
	}
	_ = flush()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case m, ok := <-live:
			if !ok {
				return nil
			}
			if err := enc.Encode(m); err != nil {
				return err
			}
			_ = flush()
		}
	}
}

// eventTime reads since and until; "" is no time.
func eventTime(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := parseTimestamp(v)
	if err == nil && t.UnixNano() == 0 {
		return time.Unix(0, 1), nil // since=0: everything, yet a time
	}
	return t, err
}
