package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/moby/moby/api/types/common"
	"github.com/moby/moby/api/types/system"

	"github.com/pier-engine/pier/internal/errdefs"
)

type fakeBackend struct {
	info    system.Info
	version system.VersionResponse
	err     error
}

func (f *fakeBackend) Info(context.Context) (system.Info, error) { return f.info, f.err }
func (f *fakeBackend) Version(context.Context) (system.VersionResponse, error) {
	return f.version, f.err
}

func newTestServer(b *fakeBackend) *Server {
	return New(Config{Backend: b, Version: "9.8.7"})
}

func do(t *testing.T, h http.Handler, method, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec
}

func decodeError(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("error Content-Type = %q, want application/json", ct)
	}
	var e common.ErrorResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
		t.Fatalf("error body %q: %v", rec.Body, err)
	}
	return e.Message
}

func TestPing(t *testing.T) {
	s := newTestServer(&fakeBackend{})
	for _, tc := range []struct{ method, path, body string }{
		{"GET", "/_ping", "OK"},
		{"HEAD", "/_ping", ""},
		{"GET", "/v1.41/_ping", "OK"},
		{"HEAD", "/v1.51/_ping", ""},
	} {
		rec := do(t, s, tc.method, tc.path)
		if rec.Code != 200 || rec.Body.String() != tc.body {
			t.Errorf("%s %s = %d %q, want 200 %q", tc.method, tc.path, rec.Code, rec.Body, tc.body)
		}
		h := rec.Header()
		want := map[string]string{
			"API-Version": MaxAPIVersion, "Server": "pier/9.8.7 (linux)", "OSType": "linux",
			"Swarm": "inactive", "Docker-Experimental": "false", "Pragma": "no-cache",
		}
		for k, v := range want {
			if got := h.Get(k); got != v {
				t.Errorf("%s %s: header %s = %q, want %q", tc.method, tc.path, k, got, v)
			}
		}
	}
}

func TestVersionNegotiation(t *testing.T) {
	s := newTestServer(&fakeBackend{})
	for _, tc := range []struct {
		path string
		code int
		msg  string
	}{
		{"/version", 200, ""},
		{"/v1.24/version", 200, ""},
		{"/v1.41/version", 200, ""},
		{"/v" + MaxAPIVersion + "/version", 200, ""},
		{"/v1.52/version", 400, "client version 1.52 is too new. Maximum supported API version is " + MaxAPIVersion},
		{"/v9.99/version", 400, "client version 9.99 is too new. Maximum supported API version is " + MaxAPIVersion},
		{"/v1.12/version", 400, "client version 1.12 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version"},
		{"/vx.y/version", 404, "page not found"},
	} {
		rec := do(t, s, "GET", tc.path)
		if rec.Code != tc.code {
			t.Errorf("GET %s = %d, want %d (%s)", tc.path, rec.Code, tc.code, rec.Body)
			continue
		}
		if rec.Header().Get("API-Version") != MaxAPIVersion {
			t.Errorf("GET %s: no API-Version header", tc.path)
		}
		if tc.code != 200 {
			if msg := decodeError(t, rec); msg != tc.msg {
				t.Errorf("GET %s: message %q, want %q", tc.path, msg, tc.msg)
			}
		}
	}
}

func TestCompareVersions(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"1.24", "1.24", 0}, {"1.9", "1.24", -1}, {"1.51", "1.41", 1},
		{"2.0", "1.99", 1}, {"1", "1.0", 0}, {"1.24.1", "1.24", 1},
	} {
		if got := compareVersions(tc.a, tc.b); got != tc.want {
			t.Errorf("compareVersions(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestGetVersion(t *testing.T) {
	b := &fakeBackend{version: system.VersionResponse{
		Platform:   system.PlatformInfo{Name: "pier"},
		Version:    "9.8.7",
		Components: []system.ComponentVersion{{Name: "Engine", Version: "9.8.7"}, {Name: "pier-runtime", Version: "1"}},
	}}
	rec := do(t, newTestServer(b), "GET", "/v1.41/version")
	if rec.Code != 200 {
		t.Fatalf("GET /version = %d %s", rec.Code, rec.Body)
	}
	var v system.VersionResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	if v.Version != "9.8.7" || v.APIVersion != MaxAPIVersion || v.MinAPIVersion != MinAPIVersion {
		t.Errorf("version = %+v", v)
	}
	eng := v.Components[0].Details
	if eng["ApiVersion"] != MaxAPIVersion || eng["MinAPIVersion"] != MinAPIVersion {
		t.Errorf("Engine details = %v, want the API versions", eng)
	}
	if v.Components[1].Details != nil {
		t.Errorf("pier-runtime details = %v, want none", v.Components[1].Details)
	}
}

func TestGetInfo(t *testing.T) {
	b := &fakeBackend{info: system.Info{NCPU: 3, KernelVersion: "6.18.0", DefaultRuntime: "pier-runtime"}}
	rec := do(t, newTestServer(b), "GET", "/info")
	if rec.Code != 200 {
		t.Fatalf("GET /info = %d %s", rec.Code, rec.Body)
	}
	var info system.Info
	if err := json.Unmarshal(rec.Body.Bytes(), &info); err != nil {
		t.Fatal(err)
	}
	if info.NCPU != 3 || info.KernelVersion != "6.18.0" || info.DefaultRuntime != "pier-runtime" {
		t.Errorf("info = %+v", info)
	}
}

func TestUnknownEndpoint(t *testing.T) {
	s := newTestServer(&fakeBackend{})
	for _, tc := range []struct{ method, path string }{
		{"GET", "/nope"}, {"GET", "/v1.41/containers/json/x/y"}, {"POST", "/version"}, {"DELETE", "/_ping"},
	} {
		rec := do(t, s, tc.method, tc.path)
		if rec.Code != 404 {
			t.Errorf("%s %s = %d, want 404", tc.method, tc.path, rec.Code)
			continue
		}
		if msg := decodeError(t, rec); msg != "page not found" {
			t.Errorf("%s %s: message %q", tc.method, tc.path, msg)
		}
	}
}

func TestStatusOf(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{fmt.Errorf("container x: %w", errdefs.ErrNotFound), 404},
		{fmt.Errorf("name x: %w", errdefs.ErrAlreadyExists), 409},
		{fmt.Errorf("x: %w", errdefs.ErrConflict), 409},
		{fmt.Errorf("x: %w", errdefs.ErrNotRunning), 409},
		{fmt.Errorf("memory -5: %w", errdefs.ErrInvalidArgument), 400},
		{fmt.Errorf("checkpoint: %w", errdefs.ErrNotImplemented), 501},
		{errors.New("disk on fire"), 500},
	} {
		if got := StatusOf(tc.err); got != tc.want {
			t.Errorf("StatusOf(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

func TestBackendErrorBody(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code int
	}{
		{fmt.Errorf("read meminfo: %w", errors.New("boom")), 500},
		{fmt.Errorf("info: %w", errdefs.ErrNotImplemented), 501},
	} {
		rec := do(t, newTestServer(&fakeBackend{err: tc.err}), "GET", "/info")
		if rec.Code != tc.code {
			t.Errorf("GET /info with %v = %d, want %d", tc.err, rec.Code, tc.code)
		}
		if msg := decodeError(t, rec); msg != tc.err.Error() {
			t.Errorf("message %q, want %q", msg, tc.err.Error())
		}
	}
}
