package specgen

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func writeEtc(t *testing.T, dir, name, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "etc", name), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// At create the rootfs is an empty mountpoint: a user name is found in the
// layers, the topmost copy of a file winning, as overlayfs shows it.
func TestUserFromLayers(t *testing.T) {
	upper, mid, base := t.TempDir(), t.TempDir(), t.TempDir()
	writeEtc(t, base, "passwd", "root:x:0:0::/root:/bin/sh\nnobody:x:65534:65534::/home:/bin/false\n")
	writeEtc(t, base, "group", "nogroup:x:65534:\nold:x:7:nobody\n")
	writeEtc(t, mid, "group", "nogroup:x:65534:\nnew:x:8:nobody\n")
	in := input(t)
	in.Rootfs = t.TempDir()
	in.Layers = []string{upper, mid, base}
	in.Config.User = "nobody"
	s := build(t, in)
	u := s.Process.User
	if u.UID != 65534 || u.GID != 65534 || !slices.Equal(u.AdditionalGids, []uint32{8}) {
		t.Errorf("user = %+v, want 65534:65534 with the upper layer's group 8", u)
	}

	in.Layers = []string{upper}
	if _, err := Build(in); err == nil {
		t.Error("Build found nobody in layers that have no passwd")
	}
}
