package e2e_test

import (
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pier-engine/pier/internal/testutil"
)

// TestBuildKitLazyLayers: a BuildKit-built image's new layers go into
// pier's store without a blob (exporter_lazy.go, image's lazy layers);
// after BuildKit's whole cache is pruned, docker save makes them from
// pier's own files: every layer of the archive hashes to its name and,
// uncompressed, to its diff id in `image inspect`'s RootFS. The saved
// archive loads back as the same image, which runs; docker push sends
// it to a registry, and it pulls back and runs.
func TestBuildKitLazyLayers(t *testing.T) {
	testutil.Requires(t, "docker-registry")
	r := newBuildRig(t)
	big := make([]byte, 2<<20)
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(big)
	wantSum := hex.EncodeToString(sum[:]) + "  /app/big\n"
	ctx := writeContext(t, map[string]string{
		"Dockerfile": "FROM busybox\nRUN echo run > /r && rm /bin/true\nCOPY big /app/big\n",
		"big":        string(big),
	})
	r.mustBuildx("buildx", "build", "--progress=plain", "-t", "bklazy", "--load", ctx)

	id := strings.TrimSpace(r.mustDocker(nil, "image", "inspect", "-f", "{{.Id}}", "bklazy"))
	var diffs []string
	if err := json.Unmarshal([]byte(r.mustDocker(nil, "image", "inspect", "-f", "{{json .RootFS.Layers}}", "bklazy")), &diffs); err != nil {
		t.Fatal(err)
	}
	if len(diffs) != 3 {
		t.Fatalf("RootFS.Layers = %v, want busybox's and two built layers", diffs)
	}
	blobs := filepath.Join(r.d.root, "image", "blobs", "sha256")
	for _, d := range diffs[1:] {
		if _, err := os.Stat(filepath.Join(blobs, strings.TrimPrefix(d, "sha256:"))); err == nil {
			t.Errorf("built layer %s has a blob in pier's store before anything asked for it", d)
		}
	}
	if code, out, errs := r.docker("/usr/local/bin/docker", []string{"DOCKER_BUILDKIT=0"}, "builder", "prune", "-af"); code != 0 {
		t.Fatalf("builder prune -af = %d\n%s%s", code, out, errs)
	}

	archive := filepath.Join(t.TempDir(), "bklazy.tar")
	r.mustDocker(nil, "save", "-o", archive, "bklazy")
	checkSavedLayers(t, archive, diffs)

	r.mustDocker(nil, "rmi", "bklazy")
	r.mustDocker(nil, "load", "-i", archive)
	if got := strings.TrimSpace(r.mustDocker(nil, "image", "inspect", "-f", "{{.Id}}", "bklazy")); got != id {
		t.Errorf("loaded image id %s, want %s", got, id)
	}
	if got := r.mustDocker(nil, "run", "--rm", "bklazy", "md5sum", "/app/big"); got != wantSum {
		t.Errorf("loaded image: md5sum = %q, want %q", got, wantSum)
	}

	reg := testutil.StartRegistry(t, testutil.Registry{})
	ref := reg + "/bklazy:t"
	r.mustDocker(nil, "tag", "bklazy", ref)
	r.mustDocker(nil, "push", ref)
	r.mustDocker(nil, "rmi", "bklazy", ref)
	r.mustDocker(nil, "pull", ref)
	if got := strings.TrimSpace(r.mustDocker(nil, "image", "inspect", "-f", "{{.Id}}", ref)); got != id {
		t.Errorf("pulled image id %s, want %s", got, id)
	}
	if got := r.mustDocker(nil, "run", "--rm", ref, "md5sum", "/app/big"); got != wantSum {
		t.Errorf("pulled image: md5sum = %q, want %q", got, wantSum)
	}
	if code, _, _ := r.docker("/usr/bin/docker", nil, "run", "--rm", ref, "test", "-e", "/bin/true"); code == 0 {
		t.Error("the file the RUN removed is back: the whiteout was lost")
	}
	r.mustDocker(nil, "rmi", ref)
	r.nothingLeft()
}

// checkSavedLayers reads docker save's archive: each blob hashes to its
// name, and layer i, decompressed if gzipped, hashes to diffs[i].
func checkSavedLayers(t *testing.T, archive string, diffs []string) {
	t.Helper()
	files := readTar(t, archive)
	var dms []struct{ Layers []string }
	if err := json.Unmarshal(files["manifest.json"], &dms); err != nil || len(dms) != 1 {
		t.Fatalf("manifest.json: %v (%d entries)", err, len(dms))
	}
	if len(dms[0].Layers) != len(diffs) {
		t.Fatalf("saved layers %v, diff ids %v", dms[0].Layers, diffs)
	}
	for i, name := range dms[0].Layers {
		b, ok := files[name]
		if !ok {
			t.Errorf("layer %s not in the archive", name)
			continue
		}
		s := sha256.Sum256(b)
		if got := hex.EncodeToString(s[:]); !strings.HasSuffix(name, got) {
			t.Errorf("layer %s hashes to %s", name, got)
		}
		if zr, err := gzip.NewReader(bytes.NewReader(b)); err == nil {
			if b, err = io.ReadAll(zr); err != nil {
				t.Fatalf("layer %s: %v", name, err)
			}
		}
		s = sha256.Sum256(b)
		if got := "sha256:" + hex.EncodeToString(s[:]); got != diffs[i] {
			t.Errorf("layer %d (%s): uncompressed digest %s, diff id %s", i, name, got, diffs[i])
		}
	}
}
