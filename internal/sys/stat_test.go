package sys

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestInodeAndOwner(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a")
	if err := os.WriteFile(a, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(a, filepath.Join(dir, "b")); err != nil {
		t.Fatal(err)
	}
	fa, _ := os.Stat(a)
	fb, _ := os.Stat(filepath.Join(dir, "b"))
	da, ia, na, ok := Inode(fa)
	db, ib, _, okb := Inode(fb)
	if !ok || !okb || na != 2 || da != db || ia != ib {
		t.Fatalf("Inode: %d:%d links %d, %d:%d (%v %v)", da, ia, na, db, ib, ok, okb)
	}
	if uid, gid, ok := Owner(fa); !ok || int(uid) != os.Getuid() || int(gid) != os.Getgid() {
		t.Fatalf("Owner = %d:%d %v", uid, gid, ok)
	}
	if !ProcessExists(os.Getpid()) || ProcessExists(0) || ProcessExists(-1) {
		t.Fatal("ProcessExists")
	}
}

func TestChangeTime(t *testing.T) {
	f := filepath.Join(t.TempDir(), "f")
	before := time.Now().Add(-time.Second)
	if err := os.WriteFile(f, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(f)
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := ChangeTime(fi); !ok || c.Before(before) || c.After(time.Now().Add(time.Second)) {
		t.Errorf("ChangeTime = %v, %v; want about now", c, ok)
	}
}
