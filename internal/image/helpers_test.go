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
)

type entry struct {
	name, body, link string
	typ              byte
}

func layerTar(t testing.TB, ents ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range ents {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Linkname: e.link, Mode: 0o644,
			ModTime: time.Unix(1700000000, 0), Format: tar.FormatPAX}
		switch e.typ {
		case 0:
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.body))
		case tar.TypeDir:
			h.Mode = 0o755
		case tar.TypeChar:
			h.Devmajor, h.Devminor = 1, 3
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

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
		layerTar(t, entry{name: "etc/", typ: tar.TypeDir}, entry{name: "etc/passwd", body: "root"},
			entry{name: "etc/shadow", body: "x"}, entry{name: "bin/sh", body: strings.Repeat("sh", 4000)}),
		layerTar(t, entry{name: "etc/.wh.shadow"}, entry{name: "bin/sh", body: "new sh"},
			entry{name: "bin/ls", typ: tar.TypeLink, link: "bin/sh"}),
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
