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

	eventbus "github.com/pier-engine/pier/internal/daemon/events"
	"github.com/pier-engine/pier/internal/errdefs"
)

// EventBackend is what /events, /system/df and /containers/prune need from the engine; the container backend
// provides it when it implements it.
type EventBackend interface {
	// SubscribeEvents returns the kept events f selects and a channel of
	// the next ones it selects, with none lost in between. The channel is
	// closed after cancel, when f.Until passes, or early when the reader
	// falls too far behind.
	SubscribeEvents(f eventbus.Filter) (past []events.Message, live <-chan events.Message, cancel func())
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
// passes or the client goes away. The bus selects them; this only writes.
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
	past, live, cancel := b.SubscribeEvents(eventbus.Filter{Since: since, Until: until, Args: filters})
	defer cancel()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	flush := func() {
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
	}
	enc := json.NewEncoder(w)
	for _, m := range past {
		if enc.Encode(m) != nil {
			return
		}
	}
	flush()
	for {
		select {
		case <-r.Context().Done():
			return
		case m, ok := <-live:
			if !ok || enc.Encode(m) != nil {
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
