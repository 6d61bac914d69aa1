package daemon

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
)

func TestPrepareRootTightensMode(t *testing.T) {
	root := filepath.Join(t.TempDir(), "root")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := prepareRoot(root); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(root)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o710 {
		t.Fatalf("existing root left %v, want 0710", fi.Mode().Perm())
	}
}

// TestSweepOrphans lays out what a crash mid-create, mid-rm, mid-pull
// and mid-write leaves, and checks that the start-up sweep removes
// exactly that, logs it, and spares the intact container.
func TestSweepOrphans(t *testing.T) {
	d := newContainerDaemon(t)
	var logs bytes.Buffer
	d.log = slog.New(slog.NewTextHandler(&logs, nil))
	keep := create(t, d, "keep", container.Config{})
	removing := create(t, d, "removing", container.Config{})

	// Mid-create: a directory and a writable layer, no record yet.
	half := strings.Repeat("ab", 32)
	p := d.paths(half)
	if err := os.MkdirAll(p.rootfs, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := d.images.Snapshots().Prepare(half, ""); err != nil {
		t.Fatal(err)
	}
	// A writable layer alone.
	lone := strings.Repeat("cd", 32)
	if err := d.images.Snapshots().Prepare(lone, ""); err != nil {
		t.Fatal(err)
	}
	// Mid-rm: the writable layer and the directory went, the record stayed.
	if err := d.images.Snapshots().Remove(removing); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(d.paths(removing).dir); err != nil {
		t.Fatal(err)
	}
	// Mid-write: temp files of atomic writes.
	staleTmp := filepath.Join(d.paths(keep).dir, ".tmp-status.json-123")
	oldTmp := filepath.Join(d.cfg.Root, "engine-id.tmp")
	for _, f := range []string{staleTmp, oldTmp} {
		if err := os.WriteFile(f, []byte("half"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// Mid-pull: an ingest file.
	ingest := filepath.Join(d.cfg.Root, "image", "ingest", "blob-123")
	if err := os.MkdirAll(filepath.Dir(ingest), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ingest, []byte("half a layer"), 0o600); err != nil {
		t.Fatal(err)
	}

	d.sweepTemps()
	if err := d.sweepOrphans(); err != nil {
		t.Fatal(err)
	}

	for _, gone := range []string{p.dir, staleTmp, oldTmp, ingest} {
		if _, err := os.Lstat(gone); !os.IsNotExist(err) {
			t.Errorf("%s survived the sweep: %v", gone, err)
		}
	}
	active, err := d.images.Snapshots().Active()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(active, ",") != keep {
		t.Errorf("writable layers after the sweep = %v, want only %s", active, keep)
	}
	if _, err := d.lookup(removing); err == nil {
		t.Error("the record of the interrupted remove survived")
	}
	if _, err := d.lookup(keep); err != nil {
		t.Errorf("the intact container went: %v", err)
	}
	if _, err := os.Stat(d.paths(keep).config); err != nil {
		t.Errorf("the intact container's files went: %v", err)
	}
	for _, want := range []string{half, lone, removing, "blob-123", "engine-id.tmp", ".tmp-status.json-123"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the sweep did not log %s:\n%s", want, logs.String())
		}
	}
	// A second sweep finds nothing.
	logs.Reset()
	d.sweepTemps()
	if err := d.sweepOrphans(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), "sweep: removed") {
		t.Errorf("second sweep removed more:\n%s", logs.String())
	}
}
