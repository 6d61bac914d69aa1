package daemon

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/moby/moby/api/types/container"

	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/testutil"
)

func TestContainerExportStopped(t *testing.T) {
	testutil.RequiresRoot(t)
	d := newContainerDaemon(t)
	id := create(t, d, "exp", container.Config{})
	var buf bytes.Buffer
	if err := d.ContainerExport(context.Background(), "exp", &buf); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		files[h.Name] = string(b)
	}
	if files["hello"] != "hi" {
		t.Errorf("export has hello = %q, want %q (files %v)", files["hello"], "hi", files)
	}
	// The snapshot was mounted for the export only.
	if err := d.ContainerRemove(context.Background(), id, false); err != nil {
		t.Fatalf("remove after export: %v", err)
	}
}

func TestContainerExportUnknown(t *testing.T) {
	d := newContainerDaemon(t)
	var buf bytes.Buffer
	err := d.ContainerExport(context.Background(), "nope", &buf)
	if !errors.Is(err, errdefs.ErrNotFound) || buf.Len() != 0 {
		t.Fatalf("export of unknown: err %v, %d bytes", err, buf.Len())
	}
}
