package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pier-engine/pier/internal/builder"
)

// plainBuild is a BuildBackend without synced contexts; only Build is
// called.
type plainBuild struct {
	BuildBackend
	opts builder.Options
}

func (b *plainBuild) Build(ctx context.Context, r io.Reader, opts builder.Options) (string, error) {
	b.opts = opts
	io.Copy(io.Discard, r)
	return "sha256:0", nil
}

type syncingBuild struct {
	plainBuild
	got builder.SyncRequest
}

func (b *syncingBuild) SyncContext(ctx context.Context, req builder.SyncRequest) (builder.SyncReply, error) {
	b.got = req
	return builder.SyncReply{Session: "s1", Need: []string{"f"}}, nil
}

// TestBuildContextRoute: POST /build/context reaches a backend that syncs
// contexts and answers 404 otherwise (pier's CLI then sends the tar);
// POST /build hands X-Pier-Context to the build.
func TestBuildContextRoute(t *testing.T) {
	listing := `{"key":"k","files":[{"path":"f","mode":33188,"size":1,"mtime":5}]}`
	post := func(srv *Server, path string, body string, hdr map[string]string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", path, strings.NewReader(body))
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		return w
	}
	plain := New(Config{Backend: &fakeBackend{}, Build: &plainBuild{}})
	if w := post(plain, "/v1.44/build/context", listing, nil); w.Code != http.StatusNotFound {
		t.Errorf("without synced contexts: %d, want 404", w.Code)
	}
	sb := &syncingBuild{}
	srv := New(Config{Backend: &fakeBackend{}, Build: sb})
	w := post(srv, "/v1.44/build/context", listing, nil)
	var reply builder.SyncReply
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &reply) != nil || reply.Session != "s1" {
		t.Fatalf("POST /build/context = %d %s", w.Code, w.Body)
	}
	if len(sb.got.Files) != 1 || sb.got.Files[0] != (builder.SyncFile{Path: "f", Mode: 0o100644, Size: 1, Mtime: 5}) {
		t.Errorf("backend got %+v", sb.got)
	}
	if w := post(srv, "/build/context", "{not json", nil); w.Code != http.StatusBadRequest {
		t.Errorf("bad listing: %d, want 400", w.Code)
	}
	huge := `{"key":"k","files":[` + strings.Repeat(`{"path":"f"},`, MaxJSONBody/12) + `{}]}`
	if w := post(srv, "/build/context", huge, nil); w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("a listing past the JSON limit: %d, want 413", w.Code)
	}
	post(srv, "/v1.44/build?t=x", "", map[string]string{"X-Pier-Context": "s1"})
	if sb.opts.ContextSession != "s1" {
		t.Errorf("build options %+v lack the session", sb.opts)
	}
}
