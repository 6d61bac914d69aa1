package runtime

import (
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestLoadRecallsOnlyWhatItSaved: a load of the state this process saved
// takes the remembered record; once another writer changed the file, the
// load decodes the file's content.
func TestLoadRecallsOnlyWhatItSaved(t *testing.T) {
	r := &Runtime{Root: t.TempDir()}
	if err := os.Mkdir(r.dir("c1"), 0o711); err != nil {
		t.Fatal(err)
	}
	rec := &Record{ID: "c1", Pid: 42, Spec: &specs.Spec{Version: "1.0.2", Hostname: "h"}}
	if err := r.save(rec); err != nil {
		t.Fatal(err)
	}
	got, err := r.load("c1")
	if err != nil {
		t.Fatal(err)
	}
	if got == rec || got.Pid != 42 || got.Spec.Hostname != "h" {
		t.Errorf("load after save = %+v (same pointer: %v), want a copy with pid 42", got, got == rec)
	}
	if got.Spec != rec.Spec {
		t.Error("the load decoded the record this process had just saved")
	}
	// Another process rewrites the state.
	path := filepath.Join(r.dir("c1"), stateFile)
	if err := os.WriteFile(path, []byte(`{"id":"c1","pid":7,"spec":{"ociVersion":"1.0.2"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err = r.load("c1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Pid != 7 || got.Spec == rec.Spec {
		t.Errorf("load after another writer = pid %d (remembered spec: %v), want the file's pid 7", got.Pid, got.Spec == rec.Spec)
	}
}
