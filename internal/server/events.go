package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/system"
	"github.com/moby/moby/api/types/volume"

	"github.com/pier-engine/pier/internal/errdefs"
)

// EventBackend is what /events, /system/df and /containers/prune need from the engine; the container backend
// provides it when it implements it.
type EventBackend interface {
	// SubscribeEvents returns the events the engine kept and a channel of
	// the next ones, with none lost in between. The channel is closed
	// after cancel, or early when the reader falls too far behind.
	SubscribeEvents() (past []events.Message, live <-chan events.Message, cancel func())
	// SystemDF reports disk usage with every list filled in.
	SystemDF(ctx context.Context) (system.DiskUsage, error)
	// ContainersPrune removes the stopped containers filters select.
	ContainersPrune(ctx context.Context, filters map[string][]string) (container.PruneReport, error)
}

func (s *Server) eventRoutes(mux *http.ServeMux) {
	b, ok := s.containers.(EventBackend)
	if !ok {
		return
	}
	mux.HandleFunc("GET /events", func(w http.ResponseWriter, r *http.Request) { s.getEvents(w, r, b) })
	mux.HandleFunc("GET /system/df", func(w http.ResponseWriter, r *http.Request) { s.getSystemDF(w, r, b) })
	mux.HandleFunc("POST /containers/prune", func(w http.ResponseWriter, r *http.Request) { s.postContainersPrune(w, r, b) })
}

// getEvents streams events as JSON objects, one a line: first the kept
// ones from since on (none without since), then new ones until until
// passes or the client goes away.
func (s *Server) getEvents(w http.ResponseWriter, r *http.Request, b EventBackend) {
	q := r.URL.Query()
	since, err := eventTime(q.Get("since"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	until, err := eventTime(q.Get("until"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	filters, err := queryFilters(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	past, live, cancel := b.SubscribeEvents()
	defer cancel()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	flush := func() {
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
	}
	enc := json.NewEncoder(w)
	send := func(m events.Message) bool {
		if !until.IsZero() && m.TimeNano > until.UnixNano() {
			return false
		}
		if eventMatches(m, filters) {
			return enc.Encode(m) == nil
		}
		return true
	}
	if !since.IsZero() {
		for _, m := range past {
			if m.TimeNano >= since.UnixNano() && !send(m) {
				return
			}
		}
	}
	flush()
	var deadline <-chan time.Time
	if !until.IsZero() {
		wait := time.Until(until)
		if wait <= 0 {
			return
		}
		t := time.NewTimer(wait)
		defer t.Stop()
		deadline = t.C
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case <-deadline:
			return
		case m, ok := <-live:
			if !ok || !send(m) {
				return
			}
			flush()
		}
	}
}

// eventTime reads since and until: Unix seconds with optional
// nanoseconds, as the docker CLI sends them; "" is no time.
func eventTime(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	sec, frac, _ := strings.Cut(v, ".")
	s, err := strconv.ParseInt(sec, 10, 64)
	ns := int64(0)
	if err == nil && frac != "" {
		frac = (frac + "000000000")[:9]
		ns, err = strconv.ParseInt(frac, 10, 64)
	}
	if err != nil {
		return time.Time{}, &kindError{"invalid timestamp: " + v, errdefs.ErrInvalidArgument}
	}
	if s == 0 && ns == 0 {
		return time.Unix(0, 1), nil // since=0: everything, yet a time
	}
	return time.Unix(s, ns), nil
}

// eventMatches applies docker's event filters: every key must match, one
// of its values is enough; keys about other kinds of object exclude
// events of those kinds only through their own type.
func eventMatches(m events.Message, filters map[string][]string) bool {
	attrs := m.Actor.Attributes
	anyOf := func(key string, ok func(v string) bool) bool {
		vals := filters[key]
		if len(vals) == 0 {
			return true
		}
		for _, v := range vals {
			if ok(v) {
				return true
			}
		}
		return false
	}
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
		labelsMatch(attrs, filters["label"])
}

// labelsMatch: every wanted "key" or "key=value" is among attrs.
func labelsMatch(attrs map[string]string, want []string) bool {
	for _, w := range want {
		k, v, hasV := strings.Cut(w, "=")
		got, ok := attrs[k]
		if !ok || (hasV && got != v) {
			return false
		}
	}
	return true
}

// stripTag drops a reference's tag ("busybox:latest" -> "busybox"), not
// a registry port.
func stripTag(ref string) string {
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		return ref[:i]
	}
	return ref
}

// legacyDiskUsage is /system/df's answer before API 1.52, which every
// version pier serves uses.
type legacyDiskUsage struct {
	LayersSize int64
	Images     []image.Summary
	Containers []container.Summary
	Volumes    []volume.Volume
	BuildCache []build.CacheRecord
}

func (s *Server) getSystemDF(w http.ResponseWriter, r *http.Request, b EventBackend) {
	du, err := b.SystemDF(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := legacyDiskUsage{Images: []image.Summary{}, Containers: []container.Summary{},
		Volumes: []volume.Volume{}, BuildCache: []build.CacheRecord{}}
	if du.ImageUsage != nil {
		out.LayersSize = du.ImageUsage.TotalSize
		out.Images = append(out.Images, du.ImageUsage.Items...)
	}
	if du.ContainerUsage != nil {
		out.Containers = append(out.Containers, du.ContainerUsage.Items...)
	}
	if du.VolumeUsage != nil {
		out.Volumes = append(out.Volumes, du.VolumeUsage.Items...)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) postContainersPrune(w http.ResponseWriter, r *http.Request, b EventBackend) {
	filters, err := queryFilters(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	report, err := b.ContainersPrune(r.Context(), filters)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if report.ContainersDeleted == nil {
		report.ContainersDeleted = []string{}
	}
	writeJSON(w, http.StatusOK, report)
}
