package server

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"

	"github.com/pier-engine/pier/internal/errdefs"
)

// fakeArchives is the container fake plus archive: c1 has the file /f
// ("F") and nothing else; a PUT is recorded.
type fakeArchives struct {
	*fakeContainers
	put *putCall
}

type putCall struct {
	path              string
	noOverwrite, copy bool
	body              string
}

var fStat = container.PathStat{Name: "f", Size: 1, Mode: 0o644, Mtime: time.Unix(1, 0).UTC()}

func (f fakeArchives) ContainerStatPath(_ context.Context, ref, p string) (container.PathStat, error) {
	if err := f.find(ref); err != nil {
		return container.PathStat{}, err
	}
	if p != "/f" {
		return container.PathStat{}, errdefs.New(errdefs.ErrNotFound, "Could not find the file "+p+" in container "+ref)
	}
	return fStat, nil
}

func (f fakeArchives) ContainerArchivePath(ctx context.Context, ref, p string, stat func(container.PathStat), w io.Writer) error {
	st, err := f.ContainerStatPath(ctx, ref, p)
	if err != nil {
		return err
	}
	stat(st)
	_, err = io.WriteString(w, "TAR")
	return err
}

func (f fakeArchives) ContainerExtractToDir(_ context.Context, ref, p string, noOverwrite, copyIDs bool, r io.Reader) error {
	if err := f.find(ref); err != nil {
		return err
	}
	b, _ := io.ReadAll(r)
	*f.put = putCall{p, noOverwrite, copyIDs, string(b)}
	return nil
}

func headerStat(t *testing.T, h http.Header) container.PathStat {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(h.Get("X-Docker-Container-Path-Stat"))
	if err != nil {
		t.Fatalf("stat header: %v", err)
	}
	var st container.PathStat
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("stat header %s: %v", b, err)
	}
	return st
}

func TestContainerArchive(t *testing.T) {
	b := fakeArchives{&fakeContainers{}, &putCall{}}
	s := New(Config{Backend: &fakeBackend{}, Containers: b})
	rec := do(t, s, "HEAD", "/v1.50/containers/c1/archive?path=/f")
	if rec.Code != http.StatusOK || headerStat(t, rec.Header()) != fStat {
		t.Errorf("HEAD: %d %v", rec.Code, rec.Header())
	}
	rec = do(t, s, "GET", "/v1.50/containers/c1/archive?path=/f")
	if rec.Code != http.StatusOK || rec.Body.String() != "TAR" || headerStat(t, rec.Header()).Mode != os.FileMode(0o644) {
		t.Errorf("GET: %d %q %v", rec.Code, rec.Body, rec.Header())
	}
	rec = do(t, s, "GET", "/v1.50/containers/c1/archive?path=/dne")
	if rec.Code != http.StatusNotFound || decodeError(t, rec) != "Could not find the file /dne in container c1" {
		t.Errorf("GET missing: %d %q", rec.Code, rec.Body)
	}
	if rec.Header().Get("X-Docker-Container-Path-Stat") != "" {
		t.Errorf("an error carries a stat header")
	}
	if rec := do(t, s, "HEAD", "/v1.50/containers/nope/archive?path=/f"); rec.Code != http.StatusNotFound {
		t.Errorf("HEAD of unknown container: %d", rec.Code)
	}
	if rec := do(t, s, "GET", "/v1.50/containers/c1/archive"); rec.Code != http.StatusBadRequest {
		t.Errorf("GET without path: %d", rec.Code)
	}
	rec = doBody(t, s, "PUT", "/v1.50/containers/c1/archive?path=/d&noOverwriteDirNonDir=true&copyUIDGID=1", "application/x-tar", "BODY")
	if rec.Code != http.StatusOK || *b.put != (putCall{"/d", true, true, "BODY"}) {
		t.Errorf("PUT: %d %+v", rec.Code, *b.put)
	}
	rec = doBody(t, s, "PUT", "/v1.50/containers/c1/archive?path=/d", "application/x-tar", "B")
	if rec.Code != http.StatusOK || b.put.noOverwrite || b.put.copy {
		t.Errorf("PUT without flags: %d %+v", rec.Code, *b.put)
	}
}
