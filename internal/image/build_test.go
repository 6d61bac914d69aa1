package image

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"slices"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/pier-engine/pier/internal/archive"
	"github.com/pier-engine/pier/internal/testutil"
)

func configOf(t *testing.T, s *Store, img *Image) *v1.ConfigFile {
	t.Helper()
	h, _ := v1.NewHash(img.ID)
	raw, err := s.blobs.read(h)
	if err != nil {
		t.Fatal(err)
	}
	if sha(raw).String() != img.ID {
		t.Fatalf("image id %s is not the config digest %s", img.ID, sha(raw))
	}
	cfg, err := v1.ParseConfigFile(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestImportWithChanges(t *testing.T) {
	s := newStore(t)
	rootfs := testutil.Tar(t, testutil.TarEntry{Name: "bin/", Type: tar.TypeDir}, testutil.TarEntry{Name: "bin/app", Body: "x"})
	img, err := s.Import(context.Background(), bytes.NewReader(rootfs), "imported:v1", []string{
		`CMD ["/bin/app", "-v"]`, `ENTRYPOINT /bin/env`, `ENV A=1 B="two words"`, `WORKDIR /srv`, `USER 1000`,
	})
	if err != nil {
		t.Fatal(err)
	}
	c := configOf(t, s, img).Config
	if !slices.Equal(c.Cmd, []string{"/bin/app", "-v"}) || !slices.Equal(c.Entrypoint, []string{"/bin/sh", "-c", "/bin/env"}) ||
		!slices.Equal(c.Env, []string{"A=1", "B=two words"}) || c.WorkingDir != "/srv" || c.User != "1000" {
		t.Errorf("config %+v", c)
	}
	if img.Layers[0].DiffID != sha(rootfs) {
		t.Errorf("diff id %s, want the tar's digest %s", img.Layers[0].DiffID, sha(rootfs))
	}
	if _, err := s.Import(context.Background(), bytes.NewReader(rootfs), "", []string{"RUN rm -rf /"}); err == nil {
		t.Error("RUN accepted as a change")
	}
}

func TestBuildBusybox(t *testing.T) {
	if _, err := os.Stat(BusyboxPath); err != nil {
		t.Skipf("requires busybox: %s missing (apt-get install busybox-static)", BusyboxPath)
	}
	s := newStore(t)
	img, err := s.BuildBusybox(context.Background(), BusyboxPath, "busybox:latest")
	if err != nil {
		t.Fatal(err)
	}
	again, err := newStore(t).BuildBusybox(context.Background(), BusyboxPath, "busybox")
	if err != nil || again.ID != img.ID {
		t.Errorf("not reproducible: %s vs %s (%v)", img.ID, again.ID, err)
	}
	if got, err := s.Get("busybox"); err != nil || got.ID != img.ID {
		t.Fatalf("get busybox: %v", err)
	}
	dir, _ := s.snaps.LayerDir(img.TopChainID())
	for _, p := range []string{"bin/busybox", "bin/sh", "bin/ls", "etc/passwd", "etc/group", "tmp"} {
		if _, err := os.Lstat(dir + "/" + p); err != nil {
			t.Errorf("busybox image lacks %s: %v", p, err)
		}
	}
	if c := configOf(t, s, img).Config; !slices.Equal(c.Cmd, []string{"sh"}) {
		t.Errorf("cmd %v", c.Cmd)
	}
}

func TestExport(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/f", []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Export(&buf, dir); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if err := archive.Extract(context.Background(), &buf, out, archive.Options{Unprivileged: true}); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(out + "/f"); err != nil || string(b) != "x" {
		t.Errorf("exported f: %q %v", b, err)
	}
}
