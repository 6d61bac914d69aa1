package volume

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/metadata"
)

type env struct {
	root string
	md   *metadata.Store
	s    *Store
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{root: t.TempDir()}
	e.restart(t)
	return e
}

// restart opens the metadata and the volumes afresh, as pierd does when it
// starts again on the same root.
func (e *env) restart(t *testing.T) {
	t.Helper()
	md, err := metadata.Open(filepath.Join(e.root, "metadata"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(e.root, md)
	if err != nil {
		t.Fatal(err)
	}
	e.md, e.s = md, s
}

func TestCreateGet(t *testing.T) {
	e := newEnv(t)
	v, err := e.s.Create("data", map[string]string{"a": "1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(e.root, "volumes", "data", "_data")
	if v.Name != "data" || v.Driver != "local" || v.Scope != "local" || v.Mountpoint != want || v.Labels["a"] != "1" {
		t.Fatalf("created %+v", v)
	}
	if v.CreatedAt.IsZero() {
		t.Error("CreatedAt is zero")
	}
	fi, err := os.Stat(want)
	if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o755 {
		t.Fatalf("data dir: %v, %v", fi, err)
	}
	got, err := e.s.Get("data")
	if err != nil {
		t.Fatal(err)
	}
	if got.Mountpoint != want || got.Labels["a"] != "1" || !got.CreatedAt.Equal(v.CreatedAt) {
		t.Fatalf("Get = %+v", got)
	}
	for _, name := range []string{"missing", "../etc", ""} {
		if _, err := e.s.Get(name); !errors.Is(err, errdefs.ErrNotFound) {
			t.Errorf("Get(%q) = %v, want ErrNotFound", name, err)
		}
	}
}

func TestCreateExistingReturnsIt(t *testing.T) {
	e := newEnv(t)
	v1, _ := e.s.Create("same", map[string]string{"first": ""}, nil)
	os.WriteFile(filepath.Join(v1.Mountpoint, "keep"), []byte("x"), 0o644)
	v2, err := e.s.Create("same", map[string]string{"second": ""}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := v2.Labels["first"]; !ok || !v2.CreatedAt.Equal(v1.CreatedAt) {
		t.Fatalf("second create returned %+v, want the first volume", v2)
	}
	if _, err := os.Stat(filepath.Join(v2.Mountpoint, "keep")); err != nil {
		t.Fatalf("data of the existing volume: %v", err)
	}
}

func TestCreateAnonymousName(t *testing.T) {
	e := newEnv(t)
	v, err := e.s.Create("", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(v.Name) {
		t.Fatalf("anonymous name %q", v.Name)
	}
	w, _ := e.s.Create("", nil, nil)
	if w.Name == v.Name {
		t.Fatal("two anonymous volumes share a name")
	}
}

func TestCreateRefusals(t *testing.T) {
	e := newEnv(t)
	for _, name := range []string{"a", "-x", ".x", "a/b", "../up", "a b", "x\x00", strings.Repeat("n", 201)} {
		if _, err := e.s.Create(name, nil, nil); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("Create(%q) = %v, want ErrInvalidArgument", name, err)
		}
	}
	_, err := e.s.Create("opts", nil, map[string]string{"type": "tmpfs", "device": "tmpfs"})
	if !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), "device, type") {
		t.Errorf("Create with options = %v, want ErrInvalidArgument naming device, type", err)
	}
	if _, err := e.s.Create("ok", nil, map[string]string{}); err != nil {
		t.Errorf("empty options refused: %v", err)
	}
	vols, _ := e.s.List(Filter{})
	if len(vols) != 1 {
		t.Errorf("refused creates left volumes: %d", len(vols))
	}
	entries, _ := os.ReadDir(filepath.Join(e.root, "volumes"))
	if len(entries) != 1 {
		t.Errorf("refused creates left directories: %v", entries)
	}
	if CheckDriver("") != nil || CheckDriver("local") != nil {
		t.Error("local driver refused")
	}
	if err := CheckDriver("nfs"); !errors.Is(err, errdefs.ErrNotFound) || err.Error() != `error looking up volume plugin nfs: plugin "nfs" not found` {
		t.Errorf("CheckDriver(nfs) = %v", err)
	}
}

func TestRestartSeesVolumes(t *testing.T) {
	e := newEnv(t)
	v, _ := e.s.Create("persist", map[string]string{"k": "v"}, nil)
	os.WriteFile(filepath.Join(v.Mountpoint, "f"), []byte("hello"), 0o644)
	e.restart(t)
	got, err := e.s.Get("persist")
	if err != nil {
		t.Fatal(err)
	}
	if got.Labels["k"] != "v" || got.Mountpoint != v.Mountpoint || !got.CreatedAt.Equal(v.CreatedAt) {
		t.Fatalf("after restart: %+v", got)
	}
	if b, _ := os.ReadFile(filepath.Join(got.Mountpoint, "f")); string(b) != "hello" {
		t.Fatalf("data after restart: %q", b)
	}
}

// A crash in the middle of Create or Remove: New cleans both halves.
func TestRestartRepairsInterrupted(t *testing.T) {
	e := newEnv(t)
	e.s.Create("kept", nil, nil)
	vdir := filepath.Join(e.root, "volumes")
	// Create crashed after mkdir: a .new dir with no record.
	os.MkdirAll(filepath.Join(vdir, newPrefix+"1", "_data"), 0o755)
	// Create crashed after the record, before the rename.
	e.md.Create(kind, "halfmade", record{Name: "halfmade", Driver: "local"})
	// Remove crashed after moving the data to the trash.
	os.MkdirAll(filepath.Join(vdir, trashPrefix+"2", "gone", "_data"), 0o755)
	e.md.Create(kind, "gone", record{Name: "gone", Driver: "local"})
	// A directory without a record is left alone: it may be user data.
	os.MkdirAll(filepath.Join(vdir, "orphan", "_data"), 0o755)

	e.restart(t)
	vols, _ := e.s.List(Filter{})
	if len(vols) != 1 || vols[0].Name != "kept" {
		t.Fatalf("volumes after repair: %v", names(vols))
	}
	entries, _ := os.ReadDir(vdir)
	var left []string
	for _, d := range entries {
		left = append(left, d.Name())
	}
	if strings.Join(left, ",") != "kept,orphan" {
		t.Fatalf("volumes dir after repair: %v", left)
	}
}

func names(vols []*Volume) []string {
	var n []string
	for _, v := range vols {
		n = append(n, v.Name)
	}
	return n
}

func TestToAPI(t *testing.T) {
	e := newEnv(t)
	v, _ := e.s.Create("api", nil, nil)
	a := v.ToAPI()
	if a.Name != "api" || a.Driver != "local" || a.Scope != "local" || a.Mountpoint != v.Mountpoint {
		t.Fatalf("ToAPI = %+v", a)
	}
	b, _ := json.Marshal(a)
	var m map[string]any
	json.Unmarshal(b, &m)
	if _, ok := m["Labels"].(map[string]any); !ok {
		t.Errorf("Labels in JSON = %v, want an object", m["Labels"])
	}
	if _, ok := m["Options"].(map[string]any); !ok {
		t.Errorf("Options in JSON = %v, want an object", m["Options"])
	}
	if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`).MatchString(a.CreatedAt) {
		t.Errorf("CreatedAt = %q, want RFC 3339 UTC", a.CreatedAt)
	}
}

func TestConcurrentCreate(t *testing.T) {
	e := newEnv(t)
	const n = 16
	vols := make([]*Volume, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			v, err := e.s.Create("shared", map[string]string{"i": strconv.Itoa(i)}, nil)
			if err != nil {
				t.Error(err)
				return
			}
			vols[i] = v
			if _, err := e.s.Create("own-"+strconv.Itoa(i), nil, nil); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for _, v := range vols {
		if v == nil || v.Labels["i"] != vols[0].Labels["i"] {
			t.Fatalf("concurrent creates of one name returned different volumes")
		}
	}
	all, _ := e.s.List(Filter{})
	if len(all) != n+1 {
		t.Fatalf("%d volumes, want %d", len(all), n+1)
	}
}
