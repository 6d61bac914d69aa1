package image

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pier-engine/pier/internal/testutil"
)

// FuzzLoadManifests feeds load's parsers of manifest.json and index.json
// arbitrary bytes: they must return an error or a value, never panic.
func FuzzLoadManifests(f *testing.F) {
	f.Add([]byte(`[{"Config":"blobs/sha256/aa","RepoTags":["a:b"],"Layers":["blobs/sha256/bb"]}]`))
	f.Add([]byte(`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:` +
		"0000000000000000000000000000000000000000000000000000000000000000" + `","size":1}]}`))
	f.Add([]byte(`[{"Config":""}]`))
	f.Add([]byte(`{"manifests":[{"digest":"sha256:"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if dms, err := parseDockerManifest(b); err == nil {
			for _, dm := range dms {
				if dm.Config == "" {
					t.Fatal("a manifest without Config was accepted")
				}
			}
		}
		if im, err := parseIndex(b); err == nil {
			for _, d := range im.Manifests {
				if d.Digest.Hex == "" {
					t.Fatal("an index entry without a digest was accepted")
				}
			}
		}
	})
}

// FuzzLoad loads arbitrary archives (input starting with "T" is a raw
// tar, anything else picks entries from a small hostile vocabulary): the
// load must end within seconds, without a panic, leaving no ingest.
func FuzzLoad(f *testing.F) {
	f.Add([]byte{0, 0, 1, 1, 2, 2})
	f.Add([]byte{3, 0, 0})
	f.Add([]byte{4, 1, 0})
	f.Add(append([]byte("T"), testutil.Tar(f, testutil.TarEntry{Name: "manifest.json", Body: "[]"})...))
	s := newStore(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		raw := loadFuzzArchive(t, data)
		if raw == nil {
			t.Skip("entries tar cannot encode")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, _ = s.Load(ctx, bytes.NewReader(raw))
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("load still running after 10 s")
		}
		if ents, _ := os.ReadDir(filepath.Join(s.cfg.Root, "ingest")); len(ents) != 0 {
			t.Fatalf("ingest left behind: %v", ents)
		}
	})
}

var (
	loadFuzzNames  = []string{"manifest.json", "index.json", "oci-layout", "blobs/sha256/aa", "a/layer.tar", "../x", "/etc/passwd"}
	loadFuzzBodies = []string{"[]", `[{"Config":"a/layer.tar","Layers":["a/layer.tar"]}]`, `{"schemaVersion":2,"manifests":[]}`,
		`{"imageLayoutVersion":"1.0.0"}`, "garbage", ""}
	loadFuzzTypes = []byte{tar.TypeReg, tar.TypeSymlink, tar.TypeFifo, tar.TypeDir, tar.TypeLink}
)

func loadFuzzArchive(t *testing.T, data []byte) []byte {
	if len(data) > 0 && data[0] == 'T' {
		return data[1:]
	}
	var ents []testutil.TarEntry
	for i := 0; i+2 < len(data) && len(ents) < 32; i += 3 {
		e := testutil.TarEntry{
			Type: loadFuzzTypes[int(data[i])%len(loadFuzzTypes)],
			Name: loadFuzzNames[int(data[i+1])%len(loadFuzzNames)],
		}
		switch e.Type {
		case tar.TypeReg:
			e.Body = loadFuzzBodies[int(data[i+2])%len(loadFuzzBodies)]
		case tar.TypeSymlink, tar.TypeLink:
			e.Link = append(loadFuzzNames, "/dev/zero")[int(data[i+2])%(len(loadFuzzNames)+1)]
		}
		ents = append(ents, e)
	}
	b, ok := testutil.TryTar(ents)
	if !ok {
		return nil
	}
	return b
}
