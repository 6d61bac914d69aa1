package image

import (
	"archive/tar"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pier-engine/pier/internal/snapshot"
	"github.com/pier-engine/pier/internal/testutil"
)

// TestRootfsOfPulledImage pulls a multi-layer image (deletions, an opaque
// directory, hardlinks, a symlink chain, a device node) and checks the
// mounted rootfs holds exactly the expected tree.
func TestRootfsOfPulledImage(t *testing.T) {
	testutil.RequiresRoot(t)
	testutil.Requires(t, "overlay")
	host := serve(t, nil)
	src := newStore(t)
	ref := host + "/pier/layers:v1"
	fixture(t, src, ref,
		testutil.Tar(t, testutil.TarEntry{Name: "etc/passwd", Body: "root"}, testutil.TarEntry{Name: "etc/shadow", Body: "x"},
			testutil.TarEntry{Name: "opt/old", Body: "o"}, testutil.TarEntry{Name: "bin/busybox", Body: "bb"},
			testutil.TarEntry{Name: "bin/sh", Type: tar.TypeLink, Link: "bin/busybox"}),
		testutil.Tar(t, testutil.TarEntry{Name: "etc/.wh.shadow"}, testutil.TarEntry{Name: "opt/.wh..wh..opq"},
			testutil.TarEntry{Name: "opt/new", Body: "n"},
			testutil.TarEntry{Name: "dev/null", Type: tar.TypeChar, Major: 1, Minor: 3}),
		testutil.Tar(t, testutil.TarEntry{Name: "l1", Type: tar.TypeSymlink, Link: "l2"},
			testutil.TarEntry{Name: "l2", Type: tar.TypeSymlink, Link: "/etc/passwd"}),
	)
	if _, err := src.Push(context.Background(), ref, nil); err != nil {
		t.Fatal(err)
	}
	s := newStore(t)
	img, err := s.Pull(context.Background(), ref, nil)
	if err != nil {
		t.Fatal(err)
	}
	root := mountImage(t, s, "c1", img)
	want := []string{"bin d", "bin/busybox - bb", "bin/sh - bb", "dev d", "dev/null Dc", "etc d", "etc/passwd - root",
		"l1 L -> l2", "l2 L -> /etc/passwd", "opt d", "opt/new - n"}
	if got := testutil.Tree(t, root, testutil.TreeOptions{}); !slices.Equal(got, want) {
		t.Errorf("rootfs:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func mountImage(t *testing.T, s *Store, id string, img *Image) string {
	t.Helper()
	if err := s.Snapshots().Prepare(id, img.TopChainID()); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "rootfs")
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := s.Snapshots().Mount(id, target); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := snapshot.Unmount(target); err != nil {
			t.Error(err)
		}
		if err := s.Snapshots().Remove(id); err != nil {
			t.Error(err)
		}
	})
	return target
}

// TestDistributionRegistry pushes to and pulls from Debian's
// docker-registry (distribution 2.8) on 127.0.0.1, and runs nothing else.
func TestDistributionRegistry(t *testing.T) {
	testutil.RequiresRoot(t)
	testutil.Requires(t, "docker-registry", "busybox")
	host := testutil.StartRegistry(t, testutil.Registry{Delete: true})
	s := newStore(t)
	ref := host + "/pier/busybox:latest"
	img, err := s.BuildBusybox(context.Background(), BusyboxPath, ref)
	if err != nil {
		t.Fatal(err)
	}
	digest, err := s.Push(context.Background(), ref, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Remove(ref, true, nil); err != nil {
		t.Fatal(err)
	}
	got, err := s.Pull(context.Background(), ref, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != img.ID || got.Manifest != digest {
		t.Errorf("pulled %s (manifest %s), pushed %s (manifest %s)", got.ID, got.Manifest, img.ID, digest)
	}
	root := mountImage(t, s, "bb", got)
	out, err := exec.Command("chroot", root, "/bin/sh", "-c", "echo hi from $(cat /etc/passwd | head -c 4)").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "hi from root" {
		t.Errorf("running the pulled busybox: %q %v", out, err)
	}
}
