package cli

import (
	"encoding/binary"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"
)

// fakeID is the one container the fake daemon knows, also by name "web".
var fakeID = strings.Repeat("ab", 32)

// fakeDocker answers the Engine API endpoints the container verbs call,
// records each call, and runs a pretend container that writes fixed
// output and exits with a fixed code once started.
type fakeDocker struct {
	exitCode       int
	stdout, stderr string
	list           []container.Summary

	started   chan struct{}
	startOnce sync.Once

	mu sync.Mutex
	// Guarded by mu.
	calls   []string
	creates []container.CreateRequest
}

// call records "METHOD /path?query" without the API version prefix.
func (f *fakeDocker) record(r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := r.Method + " " + r.URL.Path
	if q := r.URL.RawQuery; q != "" {
		c += "?" + q
	}
	f.calls = append(f.calls, c)
}

func (f *fakeDocker) recorded() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeDocker) lastCreate(t *testing.T) container.CreateRequest {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.creates) == 0 {
		t.Fatal("no create request")
	}
	return f.creates[len(f.creates)-1]
}

// frame is one multiplexed stream frame: stream byte, 3 zeros, length.
func frame(stream byte, s string) []byte {
	b := make([]byte, 8, 8+len(s))
	b[0] = stream
	binary.BigEndian.PutUint32(b[4:], uint32(len(s)))
	return append(b, s...)
}

func apiError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

func (f *fakeDocker) known(w http.ResponseWriter, r *http.Request) bool {
	if id := r.PathValue("id"); id != fakeID && id != "web" {
		apiError(w, http.StatusNotFound, "No such container: "+id)
		return false
	}
	return true
}

func (f *fakeDocker) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_ping", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("API-Version", "1.52")
		w.Write([]byte("OK"))
	})
	mux.HandleFunc("POST /containers/create", func(w http.ResponseWriter, r *http.Request) {
		var req container.CreateRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			apiError(w, http.StatusBadRequest, err.Error())
			return
		}
		f.mu.Lock()
		f.creates = append(f.creates, req)
		f.mu.Unlock()
		switch req.Image {
		case "nosuch":
			apiError(w, http.StatusNotFound, "No such image: nosuch:latest")
		case "broken":
			apiError(w, http.StatusInternalServerError, "no space left on device")
		default:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusCreated)
			json.NewEncoder(w).Encode(container.CreateResponse{ID: fakeID, Warnings: []string{}})
		}
	})
	mux.HandleFunc("POST /containers/{id}/start", func(w http.ResponseWriter, r *http.Request) {
		if f.known(w, r) {
			f.startOnce.Do(func() { close(f.started) })
			w.WriteHeader(http.StatusNoContent)
		}
	})
	mux.HandleFunc("POST /containers/{id}/attach", f.attach)
	mux.HandleFunc("POST /containers/{id}/wait", func(w http.ResponseWriter, r *http.Request) {
		if !f.known(w, r) {
			return
		}
		// Headers go out at once, as dockerd's: the client waits for them
		// before it starts the container.
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		<-f.started
		json.NewEncoder(w).Encode(container.WaitResponse{StatusCode: int64(f.exitCode)})
	})
	mux.HandleFunc("GET /containers/json", func(w http.ResponseWriter, _ *http.Request) {
		json.NewEncoder(w).Encode(f.list)
	})
	mux.HandleFunc("GET /containers/{id}/json", func(w http.ResponseWriter, r *http.Request) {
		if f.known(w, r) {
			json.NewEncoder(w).Encode(container.InspectResponse{ID: fakeID, Name: "/web",
				Config: &container.Config{Image: "busybox"}, State: &container.State{Status: "running"}})
		}
	})
	mux.HandleFunc("GET /containers/{id}/logs", func(w http.ResponseWriter, r *http.Request) {
		if f.known(w, r) {
			w.Write(frame(1, f.stdout))
			w.Write(frame(2, f.stderr))
		}
	})
	for _, p := range []string{"POST /containers/{id}/stop", "POST /containers/{id}/kill", "DELETE /containers/{id}"} {
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			if f.known(w, r) {
				w.WriteHeader(http.StatusNoContent)
			}
		})
	}
	mux.HandleFunc("GET /images/{name}/json", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("name") != "busybox" {
			apiError(w, http.StatusNotFound, "No such image: "+r.PathValue("name"))
			return
		}
		json.NewEncoder(w).Encode(image.InspectResponse{ID: "sha256:" + strings.Repeat("cd", 32), RepoTags: []string{"busybox:latest"}})
	})
	version := regexp.MustCompile(`^/v[0-9.]+/`)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.URL.Path = "/" + version.ReplaceAllString(r.URL.Path, "")
		r.URL.Path = strings.Replace(r.URL.Path, "//", "/", 1)
		if r.URL.Path != "/_ping" {
			f.record(r)
		}
		mux.ServeHTTP(w, r)
	})
}

// attach hijacks the connection like dockerd: 101, then the container's
// output as multiplexed frames once it has started, then EOF.
func (f *fakeDocker) attach(w http.ResponseWriter, r *http.Request) {
	if !f.known(w, r) {
		return
	}
	conn, buf, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	buf.WriteString("HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
	buf.Flush()
	<-f.started
	buf.Write(frame(1, f.stdout))
	buf.Write(frame(2, f.stderr))
	buf.Flush()
}

// startFakeDocker serves f on a Unix socket and returns the host for -H.
func startFakeDocker(t *testing.T, f *fakeDocker) string {
	f.started = make(chan struct{})
	host := serveAPI(t, f.handler())
	t.Cleanup(func() { f.startOnce.Do(func() { close(f.started) }) }) // free handlers still waiting
	return host
}
