package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/volume"

	"github.com/pier-engine/pier/internal/errdefs"
)

// fakeVolumes keeps volumes in a map and records what the server passed.
type fakeVolumes struct {
	vols    map[string]volume.Volume
	inUse   map[string]bool
	created volume.CreateRequest
	filters map[string][]string
	force   bool
}

func newFakeVolumes() *fakeVolumes {
	return &fakeVolumes{vols: map[string]volume.Volume{}, inUse: map[string]bool{}}
}

func (f *fakeVolumes) VolumeCreate(_ context.Context, req volume.CreateRequest) (volume.Volume, error) {
	f.created = req
	if strings.Contains(req.Name, "/") {
		return volume.Volume{}, fmt.Errorf("%q includes invalid characters: %w", req.Name, errdefs.ErrInvalidArgument)
	}
	v := volume.Volume{Name: req.Name, Driver: "local", Labels: req.Labels, Options: map[string]string{},
		Mountpoint: "/root/volumes/" + req.Name + "/_data", Scope: "local"}
	f.vols[req.Name] = v
	return v, nil
}

func (f *fakeVolumes) VolumeList(_ context.Context, filters map[string][]string) (volume.ListResponse, error) {
	f.filters = filters
	for k := range filters {
		if k != "name" && k != "label" && k != "dangling" && k != "driver" {
			return volume.ListResponse{}, fmt.Errorf("invalid filter '%s': %w", k, errdefs.ErrInvalidArgument)
		}
	}
	var out volume.ListResponse
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for n := range f.vols {
			if !yield(n) {
				return
			}
		}
	}) {
		out.Volumes = append(out.Volumes, f.vols[name])
	}
	return out, nil
}

func (f *fakeVolumes) VolumeInspect(_ context.Context, name string) (volume.Volume, error) {
	v, ok := f.vols[name]
	if !ok {
		return volume.Volume{}, fmt.Errorf("no such volume: %s: %w", name, errdefs.ErrNotFound)
	}
	return v, nil
}

func (f *fakeVolumes) VolumeRemove(_ context.Context, name string, force bool) error {
	f.force = force
	if _, ok := f.vols[name]; !ok {
		if force {
			return nil
		}
		return fmt.Errorf("no such volume: %s: %w", name, errdefs.ErrNotFound)
	}
	if f.inUse[name] {
		return fmt.Errorf("remove volume %s: volume is in use: %w", name, errdefs.ErrConflict)
	}
	delete(f.vols, name)
	return nil
}

func (f *fakeVolumes) VolumePrune(_ context.Context, filters map[string][]string) (volume.PruneReport, error) {
	f.filters = filters
	var r volume.PruneReport
	if _, all := filters["all"]; !all {
		return r, nil
	}
	for name := range f.vols {
		if !f.inUse[name] {
			r.VolumesDeleted = append(r.VolumesDeleted, name)
			r.SpaceReclaimed += 10
			delete(f.vols, name)
		}
	}
	return r, nil
}

func newVolumeServer(f *fakeVolumes) *Server {
	return New(Config{Backend: &fakeBackend{}, Volumes: f, Version: "9.8.7"})
}

func doBody(t *testing.T, h http.Handler, method, path, contentType, body string) *httptest.ResponseRecorder {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func decodeInto(t *testing.T, rec *httptest.ResponseRecorder, v any) {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
		t.Fatalf("body %q: %v", rec.Body, err)
	}
}

func TestVolumeCreate(t *testing.T) {
	f := newFakeVolumes()
	s := newVolumeServer(f)
	body := `{"Name":"v1","Driver":"local","DriverOpts":{"o":"x"},"Labels":{"a":"b"},"Unknown":1}`
	rec := doBody(t, s, "POST", "/v1.51/volumes/create", "application/json", body)
	if rec.Code != http.StatusCreated {
		t.Fatalf("create = %d %s", rec.Code, rec.Body)
	}
	var v volume.Volume
	decodeInto(t, rec, &v)
	if v.Name != "v1" || v.Labels["a"] != "b" || v.Scope != "local" {
		t.Errorf("created %+v", v)
	}
	want := volume.CreateRequest{Name: "v1", Driver: "local", DriverOpts: map[string]string{"o": "x"}, Labels: map[string]string{"a": "b"}}
	if !reflect.DeepEqual(f.created, want) {
		t.Errorf("backend got %+v, want %+v", f.created, want)
	}
	// The raw JSON has every key dockerd sends, with {} rather than null.
	var raw map[string]any
	json.Unmarshal(rec.Body.Bytes(), &raw)
	for _, k := range []string{"Name", "Driver", "Mountpoint", "Labels", "Options", "Scope"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("created volume lacks %s: %s", k, rec.Body)
		}
	}

	// No body at all: an anonymous volume, as dockerd allows.
	if rec := doBody(t, s, "POST", "/volumes/create", "", ""); rec.Code != http.StatusCreated || f.created.Name != "" {
		t.Errorf("create without a body = %d %s, backend got %+v", rec.Code, rec.Body, f.created)
	}
	if rec := doBody(t, s, "POST", "/volumes/create", "application/json; charset=utf-8", `{"Name":"v2"}`); rec.Code != http.StatusCreated {
		t.Errorf("create with charset = %d %s", rec.Code, rec.Body)
	}
}

func TestVolumeCreateBadInput(t *testing.T) {
	s := newVolumeServer(newFakeVolumes())
	for _, tc := range []struct {
		name, ct, body, msg string
	}{
		{"malformed", "application/json", `{"Name":`, "invalid JSON"},
		{"not an object", "application/json", `[1]`, "invalid JSON"},
		{"wrong type", "application/json", `{"Labels":"a=b"}`, "invalid JSON"},
		{"trailing content", "application/json", `{"Name":"a"} {}`, "unexpected content after JSON"},
		{"content type", "text/plain", `{"Name":"a"}`, "unsupported Content-Type header (text/plain)"},
		{"invalid name", "application/json", `{"Name":"a/b"}`, "includes invalid characters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := doBody(t, s, "POST", "/volumes/create", tc.ct, tc.body)
			if rec.Code != http.StatusBadRequest {
				t.Errorf("create %q = %d, want 400", tc.body, rec.Code)
			}
			if msg := decodeError(t, rec); !strings.Contains(msg, tc.msg) {
				t.Errorf("message %q lacks %q", msg, tc.msg)
			}
		})
	}
}

func TestVolumeInspect(t *testing.T) {
	f := newFakeVolumes()
	f.VolumeCreate(context.Background(), volume.CreateRequest{Name: "v1"})
	s := newVolumeServer(f)
	rec := do(t, s, "GET", "/v1.41/volumes/v1")
	var v volume.Volume
	decodeInto(t, rec, &v)
	if rec.Code != 200 || v.Name != "v1" || v.Mountpoint != "/root/volumes/v1/_data" {
		t.Errorf("inspect = %d %+v", rec.Code, v)
	}
	rec = do(t, s, "GET", "/volumes/nope")
	if rec.Code != 404 || decodeError(t, rec) != "no such volume: nope: not found" {
		t.Errorf("inspect nope = %d %s", rec.Code, rec.Body)
	}
}

func TestVolumeList(t *testing.T) {
	f := newFakeVolumes()
	s := newVolumeServer(f)
	rec := do(t, s, "GET", "/volumes")
	if rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != `{"Volumes":[],"Warnings":null}` {
		t.Errorf("empty list = %d %s", rec.Code, rec.Body)
	}
	f.VolumeCreate(context.Background(), volume.CreateRequest{Name: "b"})
	f.VolumeCreate(context.Background(), volume.CreateRequest{Name: "a"})
	for _, tc := range []struct {
		query string
		want  map[string][]string
	}{
		{"", map[string][]string{}},
		{`{"name":{"b":true,"a":true},"label":{"x=y":true}}`, map[string][]string{"name": {"a", "b"}, "label": {"x=y"}}},
		{`{"dangling":["true"]}`, map[string][]string{"dangling": {"true"}}}, // the old list form
	} {
		rec := do(t, s, "GET", "/volumes?filters="+url.QueryEscape(tc.query))
		var list volume.ListResponse
		decodeInto(t, rec, &list)
		if rec.Code != 200 || len(list.Volumes) != 2 || list.Volumes[0].Name != "a" {
			t.Errorf("list %s = %d %s", tc.query, rec.Code, rec.Body)
		}
		if !reflect.DeepEqual(f.filters, tc.want) {
			t.Errorf("filters %s reached the backend as %v, want %v", tc.query, f.filters, tc.want)
		}
	}
	for _, q := range []string{`{"name":`, `"a"`, `{"name":3}`, `{"color":{"red":true}}`} {
		rec := do(t, s, "GET", "/volumes?filters="+url.QueryEscape(q))
		if rec.Code != 400 || !strings.Contains(decodeError(t, rec), "invalid filter") {
			t.Errorf("list filters=%s = %d %s, want 400 invalid filter", q, rec.Code, rec.Body)
		}
	}
}

func TestVolumeRemove(t *testing.T) {
	f := newFakeVolumes()
	f.VolumeCreate(context.Background(), volume.CreateRequest{Name: "v1"})
	f.VolumeCreate(context.Background(), volume.CreateRequest{Name: "busy"})
	f.inUse["busy"] = true
	s := newVolumeServer(f)
	if rec := do(t, s, "DELETE", "/v1.51/volumes/v1"); rec.Code != 204 || rec.Body.Len() != 0 || f.force {
		t.Errorf("remove = %d %q force=%v", rec.Code, rec.Body, f.force)
	}
	if rec := do(t, s, "DELETE", "/volumes/v1"); rec.Code != 404 || !strings.Contains(decodeError(t, rec), "no such volume") {
		t.Errorf("remove again = %d %s", rec.Code, rec.Body)
	}
	if rec := do(t, s, "DELETE", "/volumes/v1?force=1"); rec.Code != 204 || !f.force {
		t.Errorf("remove -f missing = %d %s force=%v", rec.Code, rec.Body, f.force)
	}
	if rec := do(t, s, "DELETE", "/volumes/busy?force=true"); rec.Code != 409 || !strings.Contains(decodeError(t, rec), "in use") {
		t.Errorf("remove in use = %d %s", rec.Code, rec.Body)
	}
	for _, v := range []string{"0", "false", "no", ""} {
		do(t, s, "DELETE", "/volumes/x?force="+v)
		if f.force {
			t.Errorf("force=%q read as true", v)
		}
	}
}

func TestVolumePrune(t *testing.T) {
	f := newFakeVolumes()
	s := newVolumeServer(f)
	for _, n := range []string{"a", "b", "busy"} {
		f.VolumeCreate(context.Background(), volume.CreateRequest{Name: n})
	}
	f.inUse["busy"] = true

	// API 1.42 and later: no "all" unless the client says so.
	rec := do(t, s, "POST", "/v1.51/volumes/prune?filters="+url.QueryEscape(`{"label":{"x":true}}`))
	var r volume.PruneReport
	decodeInto(t, rec, &r)
	if rec.Code != 200 || len(r.VolumesDeleted) != 0 || !reflect.DeepEqual(f.filters, map[string][]string{"label": {"x"}}) {
		t.Errorf("prune 1.51 = %d %s, filters %v", rec.Code, rec.Body, f.filters)
	}
	if !strings.Contains(rec.Body.String(), `"VolumesDeleted":[]`) {
		t.Errorf("prune report %s: want VolumesDeleted [] as dockerd sends", rec.Body)
	}

	// Older clients pruned every unused volume.
	rec = do(t, s, "POST", "/v1.41/volumes/prune")
	r = volume.PruneReport{}
	decodeInto(t, rec, &r)
	slices.Sort(r.VolumesDeleted)
	if rec.Code != 200 || !reflect.DeepEqual(r.VolumesDeleted, []string{"a", "b"}) || r.SpaceReclaimed != 20 {
		t.Errorf("prune 1.41 = %d %s", rec.Code, rec.Body)
	}
	if !reflect.DeepEqual(f.filters, map[string][]string{"all": {"true"}}) {
		t.Errorf("prune 1.41 filters = %v, want all=true", f.filters)
	}

	if rec := do(t, s, "POST", "/volumes/prune?filters=%7B"); rec.Code != 400 {
		t.Errorf("prune with bad filters = %d %s", rec.Code, rec.Body)
	}
}

// Without a VolumeBackend the routes are not there, as the server doc says.
func TestVolumeRoutesNeedBackend(t *testing.T) {
	s := newTestServer(&fakeBackend{})
	if rec := do(t, s, "GET", "/volumes"); rec.Code != 404 {
		t.Errorf("GET /volumes without a backend = %d", rec.Code)
	}
	s = newVolumeServer(newFakeVolumes())
	if rec := do(t, s, "PUT", "/volumes/v1"); rec.Code != 404 || decodeError(t, rec) != "page not found" {
		t.Errorf("PUT /volumes/v1 = %d %s", rec.Code, rec.Body)
	}
}
