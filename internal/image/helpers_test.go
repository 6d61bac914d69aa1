package image

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/pier-engine/pier/internal/testutil"
)

func newStore(t testing.TB) *Store {
	t.Helper()
	s, err := New(Config{Root: t.TempDir(), Unprivileged: os.Geteuid() != 0, Jobs: 1})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fixture builds a local image of the given layers and tags it ref.
func fixture(t testing.TB, s *Store, ref string, layers ...[]byte) *Image {
	t.Helper()
	var rs []io.Reader
	for _, l := range layers {
		rs = append(rs, bytes.NewReader(l))
	}
	cfg := &v1.ConfigFile{OS: "linux", Architecture: "amd64", Created: v1.Time{Time: time.Unix(1700000000, 0).UTC()},
		Config: v1.Config{Cmd: []string{"sh"}}}
	var refs []string
	if ref != "" {
		refs = append(refs, ref)
	}
	img, err := s.build(context.Background(), rs, cfg, "fixture", refs...)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// twoLayers is a small image: a base and a layer deleting part of it.
func twoLayers(t testing.TB) [][]byte {
	return [][]byte{
		testutil.Tar(t, testutil.TarEntry{Name: "etc/", Type: tar.TypeDir}, testutil.TarEntry{Name: "etc/passwd", Body: "root"},
			testutil.TarEntry{Name: "etc/shadow", Body: "x"},
			testutil.TarEntry{Name: "bin/sh", Body: strings.Repeat("sh", 4000)}),
		testutil.Tar(t, testutil.TarEntry{Name: "etc/.wh.shadow"}, testutil.TarEntry{Name: "bin/sh", Body: "new sh"},
			testutil.TarEntry{Name: "bin/ls", Type: tar.TypeLink, Link: "bin/sh"}),
	}
}

// serve starts an in-process registry behind wrap (nil for none) and
// returns its host:port.
func serve(t testing.TB, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	var h http.Handler = registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// state describes what a store holds that makes images visible: records
// and the index. Blobs and snapshots may stay (for reuse) after a failure.
func state(t testing.TB, s *Store) string {
	t.Helper()
	var out []string
	ents, _ := os.ReadDir(filepath.Join(s.cfg.Root, "images"))
	for _, e := range ents {
		out = append(out, e.Name())
	}
	b, _ := os.ReadFile(s.indexPath())
	sort.Strings(out)
	return strings.Join(out, ",") + "|" + string(b)
}
