package metadata

import (
	"os"
	"path/filepath"
	"testing"
)

// A crash before the rename leaves a temporary file, complete or truncated,
// beside the old record. The record must be untouched and the next Open
// must remove the leftovers.
func TestCrashLeavesOldRecord(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put("containers", "a", rec{Name: "old", Count: 1}); err != nil {
		t.Fatal(err)
	}
	kdir := filepath.Join(dir, "containers")
	leftovers := map[string]string{
		tmpPrefix + "a.json-123": `{"Name":"new","Cou`, // truncated mid-write
		tmpPrefix + "a.json-456": `{"Name":"new","Count":2}`,
		tmpPrefix + "b.json-789": ``, // created, nothing written
	}
	for name, content := range leftovers {
		if err := os.WriteFile(filepath.Join(kdir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// The running store ignores them.
	var got rec
	if err := s.Get("containers", "a", &got); err != nil || got.Name != "old" {
		t.Fatalf("before restart: %+v, %v", got, err)
	}
	if ids, _ := s.List("containers"); len(ids) != 1 {
		t.Fatalf("temp files listed as records: %v", ids)
	}

	// "Restart".
	s2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.Get("containers", "a", &got); err != nil || got != (rec{Name: "old", Count: 1}) {
		t.Fatalf("after restart: %+v, %v", got, err)
	}
	assertNoTemps(t, s2)
	entries, _ := os.ReadDir(kdir)
	if len(entries) != 1 || entries[0].Name() != "a.json" {
		t.Fatalf("kind dir after restart: %v", entries)
	}
	// And the store still writes.
	if err := s2.Put("containers", "a", rec{Name: "new", Count: 2}); err != nil {
		t.Fatal(err)
	}
	if err := s2.Get("containers", "a", &got); err != nil || got.Name != "new" {
		t.Fatalf("after new Put: %+v, %v", got, err)
	}
}

// A crash after the rename leaves only the new record: a new Store reads it.
func TestRecordsSurviveReopen(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir)
	s.Put("volumes", "v1", rec{Name: "v1"})
	s.Put("networks", "n1", rec{Name: "n1"})
	s2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got rec
	if err := s2.Get("volumes", "v1", &got); err != nil || got.Name != "v1" {
		t.Fatalf("%+v, %v", got, err)
	}
	if err := s2.Get("networks", "n1", &got); err != nil || got.Name != "n1" {
		t.Fatalf("%+v, %v", got, err)
	}
}

func TestOpenCreatesDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	if _, err := Open(dir); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Fatalf("store dir: %v, %v", fi, err)
	}
}
