package cli

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/image"
)

// fakeEventAPI answers /events, /system/df and the prune endpoints, and
// records the queries it got.
type fakeEventAPI struct {
	mu      sync.Mutex
	queries map[string]string // Guarded by mu; path -> raw query.
}

func (f *fakeEventAPI) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_ping", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("API-Version", "1.51")
		w.Write([]byte("OK"))
	})
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.Local)
	mux.HandleFunc("GET /events", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.Encode(events.Message{Type: "container", Action: "start", Scope: "local", TimeNano: at.UnixNano(), Time: at.Unix(),
			Actor: events.Actor{ID: "abc", Attributes: map[string]string{"name": "x", "image": "busybox"}}})
		enc.Encode(events.Message{Type: "volume", Action: "create", TimeNano: at.UnixNano(), Actor: events.Actor{ID: "v"}})
	})
	mux.HandleFunc("GET /system/df", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{
			"LayersSize": 2000,
			"Images":     []image.Summary{{ID: "i1", Size: 2000, Containers: 1}, {ID: "i2", Size: 1000, Containers: 0}},
			"Containers": []container.Summary{{ID: "c1", State: container.StateExited, SizeRw: 10}},
		})
	})
	mux.HandleFunc("POST /containers/prune", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(container.PruneReport{ContainersDeleted: []string{"c1"}, SpaceReclaimed: 2048})
	})
	mux.HandleFunc("POST /images/prune", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(image.PruneReport{ImagesDeleted: []image.DeleteResponse{{Deleted: "sha256:i2"}}, SpaceReclaimed: 1024})
	})
	version := regexp.MustCompile(`^/v[0-9.]+/`)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.URL.Path = "/" + strings.TrimLeft(version.ReplaceAllString(r.URL.Path, ""), "/")
		f.mu.Lock()
		f.queries[r.URL.Path] = r.URL.RawQuery
		f.mu.Unlock()
		mux.ServeHTTP(w, r)
	})
}

func (f *fakeEventAPI) query(path string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.queries[path]
}

func startEventAPI(t *testing.T) (string, *fakeEventAPI) {
	f := &fakeEventAPI{queries: map[string]string{}}
	return serveAPI(t, f.handler()), f
}

func TestEvents(t *testing.T) {
	host, f := startEventAPI(t)
	code, out, errs := run(t, "-H", host, "events", "--since", "0", "--until", "1700000000", "--filter", "container=x")
	if code != 0 {
		t.Fatalf("pier events = %d: %s", code, errs)
	}
	want := time.Date(2026, 1, 2, 3, 4, 5, 6, time.Local).Format("2006-01-02T15:04:05.000000000Z07:00") +
		" container start abc (image=busybox, name=x)\n"
	if lines := strings.SplitAfter(out, "\n"); len(lines) < 2 || lines[0] != want || !strings.Contains(lines[1], " volume create v\n") {
		t.Fatalf("pier events printed %q, want first line %q", out, want)
	}
	q := f.query("/events")
	for _, w := range []string{"since=0", "until=1700000000", "filters=%7B%22container%22%3A%7B%22x%22%3Atrue%7D%7D"} {
		if !strings.Contains(q, w) {
			t.Errorf("query %q lacks %q", q, w)
		}
	}
	code, out, _ = run(t, "-H", host, "events", "--format", "{{.Action}} {{.Actor.ID}}")
	if code != 0 || out != "start abc\ncreate v\n" {
		t.Fatalf("--format: %d %q", code, out)
	}
}

func TestSystemDF(t *testing.T) {
	host, _ := startEventAPI(t)
	code, out, errs := run(t, "-H", host, "system", "df")
	if code != 0 {
		t.Fatalf("pier system df = %d: %s", code, errs)
	}
	for _, re := range []string{`TYPE +TOTAL +ACTIVE +SIZE +RECLAIMABLE`, `Images +2 +1 +2kB +1kB \(50%\)`,
		`Containers +1 +0 +10B +10B \(100%\)`, `Local Volumes +0 +0 +0B +0B`} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("df output lacks /%s/:\n%s", re, out)
		}
	}
}

func TestSystemPrune(t *testing.T) {
	host, f := startEventAPI(t)
	code, out, errs := run(t, "-H", host, "system", "prune", "-f")
	if code != 0 {
		t.Fatalf("pier system prune = %d: %s", code, errs)
	}
	if !strings.Contains(out, "Deleted Containers:\nc1\n") || !strings.Contains(out, "deleted: sha256:i2") ||
		!strings.HasSuffix(out, "Total reclaimed space: 3.072kB\n") {
		t.Fatalf("output:\n%s", out)
	}
	if !strings.Contains(f.query("/images/prune"), "dangling") {
		t.Fatalf("image prune query %q", f.query("/images/prune"))
	}
	// Without -f and without a yes, nothing is removed.
	f.queries = map[string]string{}
	if code, _, _ := run(t, "-H", host, "system", "prune"); code == 0 || f.query("/containers/prune") != "" {
		t.Fatalf("unconfirmed prune: code %d, pruned %v", code, f.queries)
	}
}
