package server

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	eventbus "github.com/pier-engine/pier/internal/daemon/events"
	"github.com/pier-engine/pier/internal/errdefs"
)

func serveHandler(s *Server, h handlerFunc) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	s.handle(h).ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
	return rec
}

func TestAdapterWritesErrorBeforeResponse(t *testing.T) {
	s := newTestServer(&fakeBackend{})
	rec := serveHandler(s, func(w http.ResponseWriter, r *http.Request) error {
		return fmt.Errorf("container c9: %w", errdefs.ErrNotFound)
	})
	if rec.Code != http.StatusNotFound || decodeError(t, rec) != "container c9: not found" {
		t.Errorf("error response = %d %q", rec.Code, rec.Body)
	}
	rec = serveHandler(s, func(w http.ResponseWriter, r *http.Request) error {
		return abortResponse(errdefs.New(errdefs.ErrInvalidArgument, "bad name"))
	})
	if rec.Code != http.StatusBadRequest || decodeError(t, rec) != "bad name" {
		t.Errorf("abort before the response = %d %q, want an ordinary 400", rec.Code, rec.Body)
	}
}

func TestAdapterKeepsStartedResponse(t *testing.T) {
	s := newTestServer(&fakeBackend{})
	for name, start := range map[string]func(http.ResponseWriter){
		"WriteHeader": func(w http.ResponseWriter) { w.WriteHeader(http.StatusOK) },
		"Write":       func(w http.ResponseWriter) { _, _ = w.Write([]byte("partial")) },
		"Flush":       func(w http.ResponseWriter) { w.(http.Flusher).Flush() },
	} {
		rec := serveHandler(s, func(w http.ResponseWriter, r *http.Request) error {
			start(w)
			return errors.New("broken later")
		})
		if rec.Code != http.StatusOK || rec.Body.Len() > len("partial") {
			t.Errorf("%s then error: %d %q, want the started response alone", name, rec.Code, rec.Body)
		}
	}
}

func TestAdapterAbortsStartedResponse(t *testing.T) {
	s := newTestServer(&fakeBackend{})
	defer func() {
		if p := recover(); p != http.ErrAbortHandler {
			t.Errorf("panic = %v, want http.ErrAbortHandler so that net/http cuts the connection", p)
		}
	}()
	serveHandler(s, func(w http.ResponseWriter, r *http.Request) error {
		_, _ = w.Write([]byte("half a tar"))
		return abortResponse(errors.New("disk gone"))
	})
}

// TestRoutersNeedTheirBackend: each Config field brings its routes, and
// a nil one leaves them out.
func TestRoutersNeedTheirBackend(t *testing.T) {
	evs := &fakeEvents{bus: eventbus.NewBus(), filters: make(chan eventbus.Filter, 1), cancelled: make(chan struct{})}
	execs := &fakeExecs{fakeContainers: &fakeContainers{}}
	for _, tc := range []struct {
		method, path string
		with         func(*Config)
	}{
		{"GET", "/containers/json", func(c *Config) { c.Containers = &fakeContainers{} }},
		{"GET", "/containers/c1/top", func(c *Config) { c.Containers = &fakeProcesses{} }},
		{"GET", "/exec/e1/json", func(c *Config) { c.Exec = execs }},
		{"GET", "/images/json", func(c *Config) { c.Images = newFakeImages() }},
		{"POST", "/auth", func(c *Config) { c.Registry = &fakeAuth{fakeImages: newFakeImages()} }},
		{"GET", "/networks", func(c *Config) { c.Networks = newFakeNetworks() }},
		{"GET", "/volumes", func(c *Config) { c.Volumes = newFakeVolumes() }},
		{"GET", "/events?until=1", func(c *Config) { c.Events = evs }},
		{"GET", "/system/df", func(c *Config) { c.DiskUsage = evs }},
	} {
		without := New(Config{Backend: &fakeBackend{}})
		if rec := doBody(t, without, tc.method, tc.path, "", ""); rec.Code != http.StatusNotFound || decodeError(t, rec) != "page not found" {
			t.Errorf("%s %s without its backend = %d %s, want no route", tc.method, tc.path, rec.Code, rec.Body)
		}
		cfg := Config{Backend: &fakeBackend{}}
		tc.with(&cfg)
		rec := doBody(t, New(cfg), tc.method, tc.path, "", "")
		if rec.Code == http.StatusNotFound && rec.Body.String() == "{\"message\":\"page not found\"}\n" {
			t.Errorf("%s %s with its backend: no route", tc.method, tc.path)
		}
	}
}
