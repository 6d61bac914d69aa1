package buildkit

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"unsafe"

	"github.com/moby/buildkit/util/db/boltutil"
	bolt "go.etcd.io/bbolt"
)

// BuildKit commits its bolt databases many times per build (a no-change
// rebuild: ~86 commits, each with two fdatasyncs, in containerdmeta.db
// and metadata_v2.db), and on this kind of disk those syncs are most of
// a rebuild's server time. pier-buildkitd runs them without the syncs:
//
//   - A killed process (kill -9 of pier-buildkitd, or of pierd mid-build)
//     loses nothing: bolt writes its pages and then its meta page with
//     pwrite, so every commit is in the page cache, in order, and the
//     next open reads it whole. Half-made records are BuildKit's to drop,
//     as before.
//   - A power loss or kernel crash could leave a meta page on disk that
//     names pages that are not. So before the first unsynced commit the
//     file unsyncedMark is written (synced) with this boot's id, and it is
//     removed only after a clean close has synced every database. A
//     BuildKit that starts and finds the mark of another boot knows its
//     databases may be torn and discards its whole state (the build cache:
//     snapshots, content, records). pier's images are not in it (their
//     layers and blobs are hard links of their own in pier's store).
//
// BuildKit itself already opens its cache-key database (cache.db) with
// NoSync.

// unsyncedMark names the file under BuildKit's root that says its
// databases may hold commits not yet on disk, and of which boot.
const unsyncedMark = "unsynced-since-boot"

// bootIDPath is the kernel's id of this boot (a variable for tests).
var bootIDPath = "/proc/sys/kernel/random/boot_id"

func bootID() ([]byte, error) {
	b, err := os.ReadFile(bootIDPath)
	if err != nil {
		return nil, fmt.Errorf("boot id: %w", err)
	}
	return bytes.TrimSpace(b), nil
}

// recoverUnsynced discards BuildKit's state under root when the mark says
// its databases were last written unsynced in another boot. It reports
// whether it did. Call it before the databases are opened, after the
// crash sweep (no mount may be left under root).
func recoverUnsynced(root string) (bool, error) {
	mark, err := os.ReadFile(filepath.Join(root, unsyncedMark))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read %s: %w", unsyncedMark, err)
	}
	boot, err := bootID()
	if err != nil {
		return false, err
	}
	if bytes.Equal(bytes.TrimSpace(mark), boot) {
		return false, nil // the same boot: the page cache holds every commit
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return false, fmt.Errorf("read %s: %w", root, err)
	}
	for _, e := range entries {
		if e.Name() == unsyncedMark {
			continue // last: a crash in here must discard again
		}
		if err := os.RemoveAll(filepath.Join(root, e.Name())); err != nil {
			return false, fmt.Errorf("discard build cache after an unclean shutdown: %w", err)
		}
	}
	return true, nil
}

// markUnsynced writes the mark, synced, before any unsynced commit.
func markUnsynced(root string) error {
	boot, err := bootID()
	if err != nil {
		return err
	}
	p := filepath.Join(root, unsyncedMark)
	if err := writeSynced(p+".tmp", append(boot, '\n')); err != nil {
		return err
	}
	if err := os.Rename(p+".tmp", p); err != nil {
		return fmt.Errorf("mark %s: %w", p, err)
	}
	return syncDir(root)
}

// markSynced syncs the databases under root (closed by now) and then
// removes the mark. It must run only after every database closed
// cleanly; on any error the mark stays, which is the safe side.
func markSynced(root string) error {
	dbs, err := databases(root)
	if err != nil {
		return err
	}
	for _, p := range dbs {
		if err := syncFile(p); err != nil {
			return err
		}
	}
	if err := os.Remove(filepath.Join(root, unsyncedMark)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", unsyncedMark, err)
	}
	return syncDir(root)
}

// databases lists BuildKit's bolt files: cache.db and history.db at the
// root, the worker's (containerdmeta.db, metadata_v2.db) one level down.
func databases(root string) ([]string, error) {
	var out []string
	for _, pat := range []string{"*.db", "*/*.db"} {
		m, err := filepath.Glob(filepath.Join(root, pat))
		if err != nil {
			return nil, fmt.Errorf("list databases: %w", err)
		}
		out = append(out, m...)
	}
	return out, nil
}

// relaxSync turns bolt's per-commit sync off for each database (see the
// comment at the top); it returns how many it reached. BuildKit keeps the
// *bolt.DB inside its boltutil.DB unexported, hence the reflection; a
// BuildKit whose wrapper changed shape keeps its syncs (the test
// TestRelaxSync notices). Call it before the databases are shared.
func relaxSync(dbs ...*boltutil.DB) int {
	n := 0
	for _, d := range dbs {
		if b := boltOf(d); b != nil {
			b.NoSync = true
			n++
		}
	}
	return n
}

// boltOf is the *bolt.DB a boltutil.DB holds, or nil.
func boltOf(d *boltutil.DB) *bolt.DB {
	if d == nil {
		return nil
	}
	f := reflect.ValueOf(d).Elem().FieldByName("bdb")
	if !f.IsValid() || f.Type() != reflect.TypeFor[*bolt.DB]() {
		return nil
	}
	return *(**bolt.DB)(unsafe.Pointer(f.UnsafeAddr()))
}

func writeSynced(p string, data []byte) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	return nil
}

func syncFile(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("sync %s: %w", p, err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", p, err)
	}
	return nil
}

func syncDir(dir string) error { return syncFile(dir) }
