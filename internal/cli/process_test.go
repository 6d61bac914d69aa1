package cli

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/moby/moby/api/types/container"
)

// startFakeProcesses serves the process verbs for container "s" and
// records the requests, versions stripped.
func startFakeProcesses(t *testing.T) (string, func() []string) {
	var (
		mu    sync.Mutex
		calls []string
	)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_ping", func(w http.ResponseWriter, _ *http.Request) { w.Header().Set("Api-Version", "1.51") })
	for _, p := range []string{"pause", "unpause", "rename", "restart"} {
		mux.HandleFunc("POST /containers/{id}/"+p, func(w http.ResponseWriter, r *http.Request) {
			if r.PathValue("id") != "s" {
				apiError(w, http.StatusNotFound, "No such container: "+r.PathValue("id"))
				return
			}
			w.WriteHeader(http.StatusNoContent)
		})
	}
	mux.HandleFunc("GET /containers/{id}/top", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(container.TopResponse{Titles: []string{"UID", "PID", "NSPID", "CMD"},
			Processes: [][]string{{"root", "4242", "1", "sleep 99"}}})
	})
	mux.HandleFunc("GET /containers/{id}/ns", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != "s" {
			apiError(w, http.StatusConflict, "Container x is not running")
			return
		}
		w.Write([]byte(`[{"type":"mnt","inode":4026532177,"path":"/proc/4242/ns/mnt","shared":false},` +
			`{"type":"user","inode":4026531837,"path":"/proc/4242/ns/user","shared":true}]`))
	})
	return serveAPI(t, unversioned(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			calls = append(calls, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
			mu.Unlock()
			mux.ServeHTTP(w, r)
		}))), func() []string {
			mu.Lock()
			defer mu.Unlock()
			return append([]string(nil), calls...)
		}
}

func TestProcessVerbsCLI(t *testing.T) {
	host, calls := startFakeProcesses(t)
	for _, tc := range []struct {
		args []string
		call string
	}{
		{[]string{"pause", "s"}, "POST /containers/s/pause?"},
		{[]string{"unpause", "s"}, "POST /containers/s/unpause?"},
		{[]string{"rename", "s", "web"}, "POST /containers/s/rename?name=web"},
		{[]string{"restart", "-t", "3", "s"}, "POST /containers/s/restart?t=3"},
		{[]string{"top", "s", "-o", "pid"}, "GET /containers/s/top?ps_args=-o+pid"},
	} {
		code, _, errs := run(t, append([]string{"-H", host}, tc.args...)...)
		got := calls()
		if code != 0 || got[len(got)-1] != tc.call {
			t.Errorf("%v = %d %s; last call %q, want %q", tc.args, code, errs, got[len(got)-1], tc.call)
		}
	}
	if code, _, errs := run(t, "-H", host, "pause", "nope"); code == 0 || !strings.Contains(errs, "No such container: nope") {
		t.Errorf("pause nope = %d %q", code, errs)
	}
}

func TestTopAndNsPrint(t *testing.T) {
	host, _ := startFakeProcesses(t)
	_, out, _ := run(t, "-H", host, "top", "s")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || strings.Join(strings.Fields(lines[0]), " ") != "UID PID NSPID CMD" ||
		strings.Join(strings.Fields(lines[1]), " ") != "root 4242 1 sleep 99" {
		t.Errorf("top printed:\n%s", out)
	}
	code, out, errs := run(t, "-H", host, "ns", "s")
	want := "mnt -> mnt:[4026532177]\nuser -> user:[4026531837]  (shared with the host)\n"
	if code != 0 || out != want {
		t.Errorf("ns = %d %q %s, want %q", code, out, errs, want)
	}
	if code, _, errs := run(t, "-H", host, "ns", "x"); code == 0 || !strings.Contains(errs, "is not running") {
		t.Errorf("ns x = %d %q", code, errs)
	}
}
