package cli

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/moby/moby/api/types/container"
)

// fakeTTYDocker is an Engine API whose one container "c1" (and its execs)
// run `cat`: what arrives on the hijacked stdin comes back as output, raw
// with a tty and as stdout frames without. Stdin's end (CloseWrite) is
// the process's exit, with exitCode, as is a ctrl-d on a tty. Without stdin the process prints
// "hello" and exits at once. It records every call, resize and signal.
type fakeTTYDocker struct {
	tty, openStdin bool
	exitCode       int
	startErr       string // the start endpoint's error, if any

	exited   chan struct{}
	exitOnce sync.Once

	mu sync.Mutex
	// Guarded by mu.
	calls   []string
	created container.ExecCreateRequest
}

func (f *fakeTTYDocker) exit() { f.exitOnce.Do(func() { close(f.exited) }) }

func (f *fakeTTYDocker) recorded() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeTTYDocker) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_ping", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("API-Version", "1.52")
		w.Write([]byte("OK"))
	})
	mux.HandleFunc("POST /containers/create", func(w http.ResponseWriter, r *http.Request) {
		var req container.CreateRequest
		json.NewDecoder(r.Body).Decode(&req)
		f.tty, f.openStdin = req.Tty, req.OpenStdin
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(container.CreateResponse{ID: "c1"})
	})
	mux.HandleFunc("GET /containers/c1/json", func(w http.ResponseWriter, _ *http.Request) {
		json.NewEncoder(w).Encode(container.InspectResponse{ID: "c1",
			Config: &container.Config{Tty: f.tty, OpenStdin: f.openStdin}, State: &container.State{Running: true}})
	})
	mux.HandleFunc("POST /containers/c1/start", func(w http.ResponseWriter, _ *http.Request) {
		if f.startErr != "" {
			apiError(w, http.StatusBadRequest, f.startErr)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /containers/c1/wait", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		<-f.exited
		json.NewEncoder(w).Encode(container.WaitResponse{StatusCode: int64(f.exitCode)})
	})
	mux.HandleFunc("POST /containers/c1/attach", func(w http.ResponseWriter, r *http.Request) {
		f.cat(w, r.URL.Query().Get("stdin") == "1", f.tty)
	})
	mux.HandleFunc("POST /containers/c1/exec", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		json.NewDecoder(r.Body).Decode(&f.created)
		f.mu.Unlock()
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte(`{"Id":"e1"}`))
	})
	mux.HandleFunc("POST /exec/e1/start", func(w http.ResponseWriter, r *http.Request) {
		var req container.ExecStartRequest
		json.NewDecoder(r.Body).Decode(&req)
		f.mu.Lock()
		in := f.created.AttachStdin
		f.mu.Unlock()
		if !req.Detach {
			f.cat(w, in, req.Tty)
		}
	})
	mux.HandleFunc("GET /exec/e1/json", func(w http.ResponseWriter, _ *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"ID": "e1", "Running": false, "ExitCode": f.exitCode})
	})
	ok := func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }
	for _, p := range []string{"POST /containers/c1/resize", "POST /exec/e1/resize", "POST /containers/c1/kill", "DELETE /containers/c1"} {
		mux.HandleFunc(p, ok)
	}
	version := regexp.MustCompile(`^/v[0-9.]+/`)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.URL.Path = "/" + version.ReplaceAllString(r.URL.Path, "")
		if r.URL.Path != "/_ping" {
			c := r.Method + " " + r.URL.Path
			if q := r.URL.RawQuery; q != "" {
				c += "?" + q
			}
			f.mu.Lock()
			f.calls = append(f.calls, c)
			f.mu.Unlock()
		}
		mux.ServeHTTP(w, r)
	})
}

// cat hijacks the connection and plays the process: echo stdin, exit at
// its end.
func (f *fakeTTYDocker) cat(w http.ResponseWriter, withStdin, tty bool) {
	conn, buf, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	media := "application/vnd.docker.multiplexed-stream"
	if tty {
		media = "application/vnd.docker.raw-stream"
	}
	buf.WriteString("HTTP/1.1 101 UPGRADED\r\nContent-Type: " + media + "\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
	buf.Flush()
	out := func(p []byte) {
		if tty {
			conn.Write(p)
		} else {
			conn.Write(frame(1, string(p)))
		}
	}
	if !withStdin {
		out([]byte("hello\n"))
		f.exit()
		return
	}
	r := bufio.NewReader(io.MultiReader(buf.Reader, conn))
	p := make([]byte, 1024)
	for {
		n, err := r.Read(p)
		if n > 0 {
			out(p[:n])
		}
		// ctrl-d on a tty is a shell's exit.
		if err != nil || (tty && n > 0 && p[n-1] == 4) {
			f.exit()
			return
		}
	}
}

func startFakeTTYDocker(t *testing.T, f *fakeTTYDocker) string {
	f.exited = make(chan struct{})
	host := serveAPI(t, f.handler())
	t.Cleanup(f.exit)
	return host
}

// setStdin makes f the stdin of the verbs run in this test.
func setStdin(t *testing.T, f *os.File) {
	old := os.Stdin
	os.Stdin = f
	t.Cleanup(func() { os.Stdin = old })
}

// pipeStdin makes stdin a pipe and returns its writing end.
func pipeStdin(t *testing.T) *os.File {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	setStdin(t, r)
	t.Cleanup(func() { r.Close(); w.Close() })
	return w
}

func hasCall(calls []string, prefix string) bool {
	for _, c := range calls {
		if strings.HasPrefix(c, prefix) {
			return true
		}
	}
	return false
}
