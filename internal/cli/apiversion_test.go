package cli

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/moby/moby/api/types/container"

	"github.com/pier-engine/pier/internal/version"
)

// versionedFake is a daemon whose API stops at max, answering as dockerd
// does: the API-Version header on every answer, 400 "client version X is
// too new" for a later version. It records each request with its full
// path and the create bodies it accepted.
type versionedFake struct {
	max string

	mu sync.Mutex
	// Guarded by mu.
	calls   []string
	creates []container.CreateRequest
	loaded  string
}

func (f *versionedFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.calls = append(f.calls, r.Method+" "+r.URL.Path)
	f.mu.Unlock()
	w.Header().Set("API-Version", f.max)
	if r.URL.Path == "/_ping" {
		io.WriteString(w, "OK")
		return
	}
	m := apiVersionPrefix.FindString(r.URL.Path)
	if m == "" {
		http.NotFound(w, r)
		return
	}
	if v := strings.TrimPrefix(m, "/v"); versionLess(f.max, v) {
		apiError(w, http.StatusBadRequest, "client version "+v+" is too new. Maximum supported API version is "+f.max)
		return
	}
	switch p := strings.TrimPrefix(r.URL.Path, m); {
	case r.Method == http.MethodPost && p == "/containers/create":
		var req container.CreateRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Config == nil {
			apiError(w, http.StatusBadRequest, "bad create body")
			return
		}
		f.mu.Lock()
		f.creates = append(f.creates, req)
		f.mu.Unlock()
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(container.CreateResponse{ID: fakeID})
	case r.Method == http.MethodPost && p == "/containers/"+fakeID+"/start":
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodPost && p == "/images/load":
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.loaded = string(b)
		f.mu.Unlock()
		io.WriteString(w, `{"stream":"Loaded image: x:latest\n"}`+"\n")
	default:
		apiError(w, http.StatusNotFound, "page not found")
	}
}

func (f *versionedFake) recorded() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// versionLess orders "1.9" before "1.41" (two numeric fields).
func versionLess(a, b string) bool {
	var am, an, bm, bn int
	parse := func(s string, m, n *int) {
		maj, min, _ := strings.Cut(s, ".")
		*m, *n = atoi(maj), atoi(min)
	}
	parse(a, &am, &an)
	parse(b, &bm, &bn)
	return am < bm || am == bm && an < bn
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// Against a daemon at pier's own version, the CLI sends its requests at
// once: no ping, and every path at version.APIVersion.
func TestNoPingAtOwnVersion(t *testing.T) {
	f := &versionedFake{max: version.APIVersion}
	host := serveAPI(t, f)
	if code, out, errs := run(t, "-H", host, "run", "-d", "busybox", "true"); code != 0 || strings.TrimSpace(out) != fakeID {
		t.Fatalf("run -d = %d %q %q", code, out, errs)
	}
	want := []string{
		"POST /v" + version.APIVersion + "/containers/create",
		"POST /v" + version.APIVersion + "/containers/" + fakeID + "/start",
	}
	if got := f.recorded(); !slices.Equal(got, want) {
		t.Errorf("requests = %q, want %q", got, want)
	}
}

// An older daemon (dockerd 20.10 speaks 1.41) refuses the first request:
// the CLI negotiates once, sends that request again with its body, and
// speaks 1.41 from then on.
func TestVersionFallbackToOlderDaemon(t *testing.T) {
	f := &versionedFake{max: "1.41"}
	host := serveAPI(t, f)
	if code, out, errs := run(t, "-H", host, "run", "-d", "--name", "web", "busybox", "true"); code != 0 || strings.TrimSpace(out) != fakeID {
		t.Fatalf("run -d = %d %q %q", code, out, errs)
	}
	want := []string{
		"POST /v" + version.APIVersion + "/containers/create",
		"HEAD /_ping",
		"POST /v1.41/containers/create",
		"POST /v1.41/containers/" + fakeID + "/start",
	}
	if got := f.recorded(); !slices.Equal(got, want) {
		t.Errorf("requests = %q, want %q", got, want)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.creates) != 1 || f.creates[0].Image != "busybox" {
		t.Errorf("creates accepted = %+v, want one of busybox (the body sent again)", f.creates)
	}
}

// A body that can be read only once (an archive) is not risked: while no
// answer has confirmed the version, the CLI pings first.
func TestVersionNegotiatedBeforeStreamedBody(t *testing.T) {
	f := &versionedFake{max: "1.41"}
	host := serveAPI(t, f)
	file := filepath.Join(t.TempDir(), "img.tar")
	if err := os.WriteFile(file, []byte("archive bytes"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := run(t, "-H", host, "load", "-i", file); code != 0 {
		t.Fatalf("load = %d %q %q", code, out, errs)
	}
	// The first ping finds the daemon older; moving the client down is
	// the client's own negotiation, a second ping (old daemons only).
	want := []string{"HEAD /_ping", "HEAD /_ping", "POST /v1.41/images/load"}
	if got := f.recorded(); !slices.Equal(got, want) {
		t.Errorf("requests = %q, want %q", got, want)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.loaded != "archive bytes" {
		t.Errorf("daemon got %q, want the whole archive", f.loaded)
	}
}

// DOCKER_API_VERSION pins the version, as in docker: no ping, no
// fallback, and a version the daemon refuses is its error to show.
func TestAPIVersionFromEnvironmentPins(t *testing.T) {
	f := &versionedFake{max: "1.41"}
	host := serveAPI(t, f)
	code, out, errs := runEnv(t, map[string]string{"DOCKER_API_VERSION": "1.41"}, "-H", host, "run", "-d", "busybox", "true")
	if code != 0 || strings.TrimSpace(out) != fakeID {
		t.Fatalf("run -d = %d %q %q", code, out, errs)
	}
	want := []string{"POST /v1.41/containers/create", "POST /v1.41/containers/" + fakeID + "/start"}
	if got := f.recorded(); !slices.Equal(got, want) {
		t.Errorf("requests = %q, want %q", got, want)
	}

	g := &versionedFake{max: "1.41"}
	host = serveAPI(t, g)
	code, _, errs = runEnv(t, map[string]string{"DOCKER_API_VERSION": "1.45"}, "-H", host, "run", "-d", "busybox", "true")
	if code == 0 || !strings.Contains(errs, "client version 1.45 is too new. Maximum supported API version is 1.41") {
		t.Errorf("run -d at a pinned 1.45 = %d %q, want dockerd's version error", code, errs)
	}
	if got := g.recorded(); slices.Contains(got, "HEAD /_ping") {
		t.Errorf("requests = %q: a pinned version must not be negotiated", got)
	}
}

// A 400 from a daemon that speaks the version asked for is a bad request,
// not a version to fall back from: shown as it is, with no ping.
func TestBadRequestIsNotAVersionError(t *testing.T) {
	f := &versionedFake{max: version.APIVersion}
	host := serveAPI(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/containers/create") {
			f.mu.Lock()
			f.calls = append(f.calls, r.Method+" "+r.URL.Path)
			f.mu.Unlock()
			w.Header().Set("API-Version", f.max)
			apiError(w, http.StatusBadRequest, "invalid reference format")
			return
		}
		f.ServeHTTP(w, r)
	}))
	code, _, errs := run(t, "-H", host, "create", "busybox")
	if code == 0 || !strings.Contains(errs, "invalid reference format") {
		t.Errorf("create = %d %q, want the daemon's 400", code, errs)
	}
	if got, want := f.recorded(), []string{"POST /v" + version.APIVersion + "/containers/create"}; !slices.Equal(got, want) {
		t.Errorf("requests = %q, want %q", got, want)
	}
}

func TestVersionAt(t *testing.T) {
	for _, tc := range []struct{ path, want string }{
		{"/v1.51/containers/create", "1.51"},
		{"/base/v1.41/info", "1.41"},
		{"/_ping", ""},
		{"/volumes/v1.2x/", ""},
		{"/v1.51", ""}, // no segment after it: not the client's prefix
		{"/containers/vol/v12.3/json", "12.3"},
	} {
		got := ""
		if loc := versionAt(tc.path); loc != nil {
			got = tc.path[loc[2]:loc[3]]
			if tc.path[loc[0]:loc[1]] != "/v"+got+"/" {
				t.Errorf("versionAt(%q) segment = %q", tc.path, tc.path[loc[0]:loc[1]])
			}
		}
		if got != tc.want {
			t.Errorf("versionAt(%q) = %q, want %q", tc.path, got, tc.want)
		}
	}
}

// A daemon that says no version, on a 400 or on the ping, leaves the
// client at its own: the next request still goes at version.APIVersion
// (the client's negotiation would have moved it up to its newest).
func TestVersionUnsaidKeepsOwn(t *testing.T) {
	var mu sync.Mutex
	var calls []string
	host := serveAPI(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls = append(calls, r.Method+" "+r.URL.Path)
		mu.Unlock()
		switch {
		case r.URL.Path == "/_ping":
			io.WriteString(w, "OK")
		case strings.HasSuffix(r.URL.Path, "/containers/a"):
			apiError(w, http.StatusBadRequest, "cannot remove a")
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	code, out, errs := run(t, "-H", host, "rm", "a", "b")
	if code == 0 || !strings.Contains(errs, "cannot remove a") || strings.TrimSpace(out) != "b" {
		t.Errorf("rm a b = %d %q %q, want a refused and b removed", code, out, errs)
	}
	v := "/v" + version.APIVersion
	want := []string{"DELETE " + v + "/containers/a", "HEAD /_ping", "DELETE " + v + "/containers/b"}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(calls, want) {
		t.Errorf("requests = %q, want %q", calls, want)
	}
}
