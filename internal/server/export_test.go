package server

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
)

// fakeExports is the container fake plus export: "c1" exports "TAR".
type fakeExports struct{ *fakeContainers }

func (f fakeExports) ContainerExport(_ context.Context, ref string, w io.Writer) error {
	if err := f.find(ref); err != nil {
		return err
	}
	_, err := io.WriteString(w, "TAR")
	return err
}

func TestContainerExport(t *testing.T) {
	s := New(Config{Backend: &fakeBackend{}, Containers: fakeExports{&fakeContainers{}}})
	rec := do(t, s, "GET", "/v1.50/containers/c1/export")
	if rec.Code != http.StatusOK || rec.Body.String() != "TAR" || rec.Header().Get("Content-Type") != "application/x-tar" {
		t.Errorf("export: %d %q %v", rec.Code, rec.Body, rec.Header())
	}
	rec = do(t, s, "GET", "/v1.50/containers/nope/export")
	if rec.Code != http.StatusNotFound || !strings.Contains(decodeError(t, rec), "No such container") {
		t.Errorf("export of unknown: %d %q", rec.Code, rec.Body)
	}
}
