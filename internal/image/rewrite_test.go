package image

import (
	"os"
	"syscall"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func inodeOf(t *testing.T, p string) uint64 {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

// TestCommitUnchanged: committing an image again under the tags it has
// (a rebuild) rewrites neither its record nor the index, nor its config
// blob; a new tag rewrites the index.
func TestCommitUnchanged(t *testing.T) {
	s := newStore(t)
	img := fixture(t, s, "app:1", twoLayers(t)...)
	rec, _ := s.recordPath(img.ID)
	cfg, _ := v1.NewHash(img.ID)
	recIno, idxIno, cfgIno := inodeOf(t, rec), inodeOf(t, s.indexPath()), inodeOf(t, s.blobs.path(cfg))
	raw, err := s.blobs.read(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.blobs.put(raw, cfg); err != nil {
		t.Fatal(err)
	}
	if err := s.commit(img, "app:1"); err != nil {
		t.Fatal(err)
	}
	if inodeOf(t, rec) != recIno || inodeOf(t, s.indexPath()) != idxIno || inodeOf(t, s.blobs.path(cfg)) != cfgIno {
		t.Error("an unchanged commit rewrote the record, the index or the config blob")
	}
	if err := s.commit(img, "app:2"); err != nil {
		t.Fatal(err)
	}
	if inodeOf(t, s.indexPath()) == idxIno {
		t.Error("a new tag did not rewrite the index")
	}
	if got, err := s.Get("app:2"); err != nil || got.ID != img.ID {
		t.Errorf("app:2 = %v, %v", got, err)
	}
}
