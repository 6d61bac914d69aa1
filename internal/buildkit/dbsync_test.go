package buildkit

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/moby/buildkit/util/db/boltutil"
	bolt "go.etcd.io/bbolt"
)

// fakeBoot points bootID at a file holding id for the test's length.
func fakeBoot(t *testing.T, id string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "boot_id")
	if err := os.WriteFile(p, []byte(id+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := bootIDPath
	bootIDPath = p
	t.Cleanup(func() { bootIDPath = old })
}

// TestRelaxSync: the reflection reaches BuildKit's bolt handle, so a
// BuildKit upgrade that renames it fails here instead of silently
// bringing the syncs back.
func TestRelaxSync(t *testing.T) {
	d, err := boltutil.Open(filepath.Join(t.TempDir(), "x.db"), 0o600, &bolt.Options{NoFreelistSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	b := boltOf(d)
	if b == nil {
		t.Fatal("boltOf: no *bolt.DB inside boltutil.DB (BuildKit changed its wrapper)")
	}
	if b.NoSync {
		t.Fatal("NoSync set before relaxSync")
	}
	if n := relaxSync(d, nil); n != 1 || !b.NoSync {
		t.Fatalf("relaxSync = %d, NoSync %v; want 1, true", n, b.NoSync)
	}
	if err := d.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("b")); return err }); err != nil {
		t.Fatal(err)
	}
}

// TestUnsyncedMark: the mark of this boot keeps the cache (a killed
// process loses nothing), the mark of another boot discards it, a clean
// close removes the mark.
func TestUnsyncedMark(t *testing.T) {
	root := t.TempDir()
	state := filepath.Join(root, "runc-overlayfs", "metadata_v2.db")
	if err := os.MkdirAll(filepath.Dir(state), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(state, []byte("records"), 0o600); err != nil {
		t.Fatal(err)
	}
	fakeBoot(t, "boot-1")
	if gone, err := recoverUnsynced(root); err != nil || gone {
		t.Fatalf("no mark: recoverUnsynced = %v, %v; want false, nil", gone, err)
	}
	if err := markUnsynced(root); err != nil {
		t.Fatal(err)
	}
	if gone, err := recoverUnsynced(root); err != nil || gone {
		t.Fatalf("same boot: recoverUnsynced = %v, %v; want false, nil", gone, err)
	}
	if _, err := os.Stat(state); err != nil {
		t.Fatalf("same boot: state gone: %v", err)
	}

	fakeBoot(t, "boot-2")
	if gone, err := recoverUnsynced(root); err != nil || !gone {
		t.Fatalf("other boot: recoverUnsynced = %v, %v; want true, nil", gone, err)
	}
	if _, err := os.Stat(filepath.Dir(state)); !os.IsNotExist(err) {
		t.Fatalf("other boot: state kept (%v)", err)
	}
	if err := markUnsynced(root); err != nil {
		t.Fatal(err)
	}
	if err := markSynced(root); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, unsyncedMark)); !os.IsNotExist(err) {
		t.Fatalf("mark left after markSynced (%v)", err)
	}
	fakeBoot(t, "boot-3")
	if gone, err := recoverUnsynced(root); err != nil || gone {
		t.Fatalf("clean close, then another boot: recoverUnsynced = %v, %v; want false, nil", gone, err)
	}
}
