package metadata

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/pier-engine/pier/internal/errdefs"
)

type rec struct {
	Name  string
	Count int
}

func open(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPutGetDelete(t *testing.T) {
	s := open(t)
	if err := s.Put("volumes", "a", rec{Name: "a", Count: 1}); err != nil {
		t.Fatal(err)
	}
	var got rec
	if err := s.Get("volumes", "a", &got); err != nil {
		t.Fatal(err)
	}
	if got != (rec{Name: "a", Count: 1}) {
		t.Fatalf("got %+v", got)
	}
	if err := s.Put("volumes", "a", rec{Name: "a", Count: 2}); err != nil {
		t.Fatal(err)
	}
	if err := s.Get("volumes", "a", &got); err != nil || got.Count != 2 {
		t.Fatalf("after replace: %+v, %v", got, err)
	}
	if err := s.Delete("volumes", "a"); err != nil {
		t.Fatal(err)
	}
	if err := s.Get("volumes", "a", &got); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("get after delete: %v, want ErrNotFound", err)
	}
	if err := s.Delete("volumes", "a"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("second delete: %v, want ErrNotFound", err)
	}
}

func TestGetMissingKind(t *testing.T) {
	s := open(t)
	var got rec
	if err := s.Get("nothing", "x", &got); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("got %v, want ErrNotFound", err)
	}
	ids, err := s.List("nothing")
	if err != nil || len(ids) != 0 {
		t.Fatalf("List of unknown kind: %v, %v", ids, err)
	}
}

func TestListSortedAndSeparateKinds(t *testing.T) {
	s := open(t)
	for _, id := range []string{"c", "a", "b"} {
		if err := s.Put("containers", id, rec{Name: id}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Put("volumes", "z", rec{}); err != nil {
		t.Fatal(err)
	}
	// Stray files are not records.
	os.WriteFile(filepath.Join(s.Dir(), "containers", "README"), nil, 0o600)
	os.WriteFile(filepath.Join(s.Dir(), "containers", ".tmp-d.json-1"), nil, 0o600)
	ids, err := s.List("containers")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids, []string{"a", "b", "c"}) {
		t.Fatalf("List = %v", ids)
	}
	if ids, _ := s.List("volumes"); !slices.Equal(ids, []string{"z"}) {
		t.Fatalf("List volumes = %v", ids)
	}
}

func TestCreate(t *testing.T) {
	s := open(t)
	if err := s.Create("networks", "n", rec{Count: 1}); err != nil {
		t.Fatal(err)
	}
	if err := s.Create("networks", "n", rec{Count: 2}); !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Fatalf("second create: %v, want ErrAlreadyExists", err)
	}
	var got rec
	if err := s.Get("networks", "n", &got); err != nil || got.Count != 1 {
		t.Fatalf("record changed by refused create: %+v, %v", got, err)
	}
}

// CreateOrdered is Create with less waiting: the same record, the same
// refusal of a second one, in a kind's first directory too.
func TestCreateOrdered(t *testing.T) {
	s := open(t)
	if err := s.CreateOrdered("containers", "c", rec{Count: 1}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateOrdered("containers", "c", rec{Count: 2}); !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Fatalf("second create: %v, want ErrAlreadyExists", err)
	}
	var got rec
	if err := s.Get("containers", "c", &got); err != nil || got.Count != 1 {
		t.Fatalf("record = %+v, %v, want the first", got, err)
	}
	if ids, err := s.List("containers"); err != nil || len(ids) != 1 {
		t.Fatalf("List = %v, %v, want [c] and no temporary file", ids, err)
	}
}

func TestInvalidIDs(t *testing.T) {
	s := open(t)
	bad := []string{"", ".", "..", ".hidden", "a/b", "../x", "a\x00b", strings.Repeat("x", MaxIDLen+1)}
	for _, id := range bad {
		if err := s.Put("k", id, rec{}); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("Put id %q: %v, want ErrInvalidArgument", id, err)
		}
		if err := s.Get("k", id, &rec{}); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("Get id %q: %v, want ErrInvalidArgument", id, err)
		}
		if err := s.Delete("k", id); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("Delete id %q: %v, want ErrInvalidArgument", id, err)
		}
		if err := s.Put(id, "x", rec{}); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("Put kind %q: %v, want ErrInvalidArgument", id, err)
		}
		if _, err := s.List(id); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("List kind %q: %v, want ErrInvalidArgument", id, err)
		}
	}
	if err := s.Put("k", strings.Repeat("x", MaxIDLen), rec{}); err != nil {
		t.Errorf("id of MaxIDLen bytes: %v", err)
	}
	// Nothing escaped the store's directory.
	entries, _ := os.ReadDir(filepath.Dir(s.Dir()))
	if len(entries) != 1 {
		t.Errorf("files next to the store: %v", entries)
	}
}

func TestUnencodableValueLeavesNothing(t *testing.T) {
	s := open(t)
	if err := s.Put("k", "a", rec{Count: 1}); err != nil {
		t.Fatal(err)
	}
	if err := s.Put("k", "a", map[string]any{"f": func() {}}); err == nil {
		t.Fatal("Put of a func succeeded")
	}
	var got rec
	if err := s.Get("k", "a", &got); err != nil || got.Count != 1 {
		t.Fatalf("record after failed Put: %+v, %v", got, err)
	}
	assertNoTemps(t, s)
}

func assertNoTemps(t *testing.T, s *Store) {
	t.Helper()
	matches, _ := filepath.Glob(filepath.Join(s.Dir(), "*", tmpPrefix+"*"))
	if len(matches) > 0 {
		t.Errorf("temporary files left: %v", matches)
	}
}

func TestUpdate(t *testing.T) {
	s := open(t)
	var r rec
	if err := s.Update("k", "a", &r, func() error { return nil }); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("Update of missing record: %v, want ErrNotFound", err)
	}
	s.Put("k", "a", rec{Count: 1})
	boom := errors.New("boom")
	if err := s.Update("k", "a", &r, func() error { r.Count = 99; return boom }); !errors.Is(err, boom) {
		t.Fatalf("Update returned %v, want fn's error", err)
	}
	var got rec
	s.Get("k", "a", &got)
	if got.Count != 1 {
		t.Fatalf("failed Update wrote %+v", got)
	}
}

// An Update that leaves the record as it was writes nothing: the file is
// the same inode; one that changes it replaces the file.
func TestUpdateUnchangedWritesNothing(t *testing.T) {
	s := open(t)
	if err := s.Put("k", "a", rec{Name: "x", Count: 1}); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(s.Dir(), "k", "a.json")
	inode := func() uint64 {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Sys().(*syscall.Stat_t).Ino
	}
	before := inode()
	var r rec
	if err := s.Update("k", "a", &r, func() error { r.Count = 1; return nil }); err != nil {
		t.Fatal(err)
	}
	if inode() != before {
		t.Error("an Update that changed nothing rewrote the record")
	}
	if err := s.Update("k", "a", &r, func() error { r.Count = 2; return nil }); err != nil {
		t.Fatal(err)
	}
	var got rec
	if err := s.Get("k", "a", &got); err != nil || got.Count != 2 || inode() == before {
		t.Errorf("changing Update: %+v, %v, inode kept %v", got, err, inode() == before)
	}
	if err := s.UpdateOrdered("k", "a", &r, func() error { r.Count = 3; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.Get("k", "a", &got); err != nil || got.Count != 3 {
		t.Errorf("UpdateOrdered: %+v, %v", got, err)
	}
}

// Concurrent Updates of one record are serialised: no increment is lost.
func TestConcurrentUpdates(t *testing.T) {
	s := open(t)
	s.Put("k", "counter", rec{})
	const n = 40
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			var r rec
			if err := s.Update("k", "counter", &r, func() error { r.Count++; return nil }); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	var got rec
	s.Get("k", "counter", &got)
	if got.Count != n {
		t.Fatalf("count = %d, want %d", got.Count, n)
	}
}

// Concurrent Puts to many ids and to one id, with readers alongside: every
// read sees a whole record and every id ends up stored.
func TestConcurrentPuts(t *testing.T) {
	s := open(t)
	s.Put("k", "shared", rec{Name: "shared"})
	const n = 32
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			id := fmt.Sprintf("c%02d", i)
			if err := s.Put("k", id, rec{Name: id, Count: i}); err != nil {
				t.Error(err)
			}
			if err := s.Put("k", "shared", rec{Name: "shared", Count: i}); err != nil {
				t.Error(err)
			}
		})
		wg.Go(func() {
			var r rec
			if err := s.Get("k", "shared", &r); err != nil || r.Name != "shared" {
				t.Errorf("read during writes: %+v, %v", r, err)
			}
		})
	}
	wg.Wait()
	ids, err := s.List("k")
	if err != nil || len(ids) != n+1 {
		t.Fatalf("List = %d ids (%v), want %d", len(ids), err, n+1)
	}
	for i := range n {
		var r rec
		id := fmt.Sprintf("c%02d", i)
		if err := s.Get("k", id, &r); err != nil || r.Count != i {
			t.Errorf("%s = %+v, %v", id, r, err)
		}
	}
	assertNoTemps(t, s)
}
