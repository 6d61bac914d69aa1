package daemon

import (
	"archive/tar"
	"bytes"
	"cmp"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/image"
)

// newImageDaemon is a daemon whose image store unpacks without root and
// whose default busybox comes from binary ("" for none).
func newImageDaemon(t *testing.T, binary string) *Daemon {
	t.Helper()
	// The store New fills is replaced below: New need not make busybox.
	noBusybox := filepath.Join(t.TempDir(), "no-busybox")
	d := newTestDaemon(t, fakeRuntime(t), func(c *Config) { c.busybox = noBusybox })
	s, err := image.New(image.Config{Root: filepath.Join(t.TempDir(), "image"), Unprivileged: true})
	if err != nil {
		t.Fatal(err)
	}
	d.images = s
	d.busybox = cmp.Or(binary, noBusybox)
	return d
}

// rootfsTar is a one-file rootfs for import.
func rootfsTar(t *testing.T, content string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	hdr := &tar.Header{Name: "hello", Mode: 0o644, Size: int64(len(content)), ModTime: time.Unix(1e9, 0), Typeflag: tar.TypeReg}
	if err := tw.WriteHeader(hdr); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write([]byte(content)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestImageImportInspectHistory(t *testing.T) {
	d := newImageDaemon(t, "")
	ctx := context.Background()
	id, err := d.ImageImport(ctx, bytes.NewReader(rootfsTar(t, "hi")), "mine/root:v1",
		[]string{`CMD ["/hello"]`, "ENV A=b", "LABEL tier=web"})
	if err != nil {
		t.Fatal(err)
	}
	list, err := d.ImageList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ID != id || !slices.Equal(list[0].RepoTags, []string{"mine/root:v1"}) ||
		list[0].RepoDigests == nil || list[0].Labels["tier"] != "web" || list[0].Size <= 0 || list[0].Created == 0 {
		t.Errorf("list = %+v", list)
	}
	ins, err := d.ImageInspect(ctx, "mine/root:v1")
	if err != nil {
		t.Fatal(err)
	}
	if ins.ID != id || ins.Os != "linux" || ins.Config == nil || !slices.Equal(ins.Config.Cmd, []string{"/hello"}) ||
		!slices.Contains(ins.Config.Env, "A=b") || ins.RootFS.Type != "layers" || len(ins.RootFS.Layers) != 1 || ins.Created == "" {
		t.Errorf("inspect = %+v config %+v", ins, ins.Config)
	}
	hist, err := d.ImageHistory(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) == 0 || hist[0].ID != id || hist[0].Size <= 0 {
		t.Errorf("history = %+v", hist)
	}
	if _, err := d.ImageInspect(ctx, "nothere"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("inspect of an unknown image: %v", err)
	}
}

func TestImageTagRemovePrune(t *testing.T) {
	d := newImageDaemon(t, "")
	ctx := context.Background()
	id, err := d.ImageImport(ctx, bytes.NewReader(rootfsTar(t, "a")), "one:latest", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.ImageTag(ctx, "one", "two:x"); err != nil {
		t.Fatal(err)
	}
	if err := d.ImageTag(ctx, "nothere", "three"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("tag of an unknown image: %v", err)
	}
	if _, err := d.ImageRemove(ctx, id, false); !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("rmi by id of an image with two tags: %v", err)
	}
	del, err := d.ImageRemove(ctx, "two:x", false)
	if err != nil || len(del) != 1 || del[0].Untagged != "two:x" {
		t.Errorf("rmi two:x = %+v %v", del, err)
	}
	// An untagged image is dangling: prune takes it, not the tagged one.
	dangling, err := d.ImageImport(ctx, bytes.NewReader(rootfsTar(t, "b")), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := d.ImagePrune(ctx, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.ImagesDeleted) != 1 || rep.ImagesDeleted[0].Deleted != dangling || rep.SpaceReclaimed == 0 {
		t.Errorf("prune = %+v", rep)
	}
	rep, err = d.ImagePrune(ctx, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.ImagesDeleted) != 2 || rep.ImagesDeleted[1].Deleted != id {
		t.Errorf("prune -a = %+v", rep)
	}
	if list, _ := d.ImageList(ctx); len(list) != 0 {
		t.Errorf("images left after prune -a: %+v", list)
	}
}

func TestImageSaveLoad(t *testing.T) {
	d := newImageDaemon(t, "")
	ctx := context.Background()
	id, err := d.ImageImport(ctx, bytes.NewReader(rootfsTar(t, "keep")), "kept:v1", nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := d.ImageSave(ctx, &buf, []string{"kept:v1", "nothere"}); !errors.Is(err, errdefs.ErrNotFound) || buf.Len() != 0 {
		t.Errorf("save with an unknown image: %v, %d bytes written", err, buf.Len())
	}
	if err := d.ImageSave(ctx, &buf, []string{"kept:v1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ImageRemove(ctx, "kept:v1", false); err != nil {
		t.Fatal(err)
	}
	loaded, err := d.ImageLoad(ctx, &buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(loaded) != 1 || loaded[0].ID != id || !slices.Equal(loaded[0].RepoTags, []string{"kept:v1"}) {
		t.Errorf("load = %+v, want %s kept:v1", loaded, id)
	}
}

func TestDefaultBusybox(t *testing.T) {
	bin := image.BusyboxPath
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("no static busybox at %s (Debian's busybox-static): %v", bin, err)
	}
	d := newImageDaemon(t, bin)
	ctx := context.Background()
	// What New does at start-up.
	if err := d.ensureBusybox(ctx); err != nil {
		t.Fatal(err)
	}
	list, err := d.ImageList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || !slices.Equal(list[0].RepoTags, []string{busyboxRef}) {
		t.Fatalf("images on a fresh store = %+v, want %s", list, busyboxRef)
	}
	ins, err := d.ImageInspect(ctx, "busybox")
	if err != nil || !slices.Equal(ins.Config.Cmd, []string{"sh"}) {
		t.Errorf("inspect busybox = %+v %v", ins.Config, err)
	}
	// Made once per daemon: removing it sticks until pierd restarts.
	if _, err := d.ImageRemove(ctx, "busybox", false); err != nil {
		t.Fatal(err)
	}
	if list, _ := d.ImageList(ctx); len(list) != 0 {
		t.Errorf("busybox came back after rmi: %+v", list)
	}
	// The same binary gives the same id.
	if err := d.ensureBusybox(ctx); err != nil {
		t.Fatal(err)
	}
	again, err := d.ImageInspect(ctx, busyboxRef)
	if err != nil || again.ID != ins.ID {
		t.Errorf("rebuilt busybox id %s, first %s (%v)", again.ID, ins.ID, err)
	}
}

func TestNoBusyboxBinary(t *testing.T) {
	d := newImageDaemon(t, "")
	if err := d.ensureBusybox(context.Background()); err != nil {
		t.Errorf("ensureBusybox without the binary: %v", err)
	}
	if list, err := d.ImageList(context.Background()); err != nil || len(list) != 0 {
		t.Errorf("images without a busybox binary = %+v %v", list, err)
	}
}
