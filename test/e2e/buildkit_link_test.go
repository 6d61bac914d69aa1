package e2e_test

import (
	"archive/tar"
	"bytes"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestBuildKitExportLinks: a built image's new layers go into pier's
// store as hard links to BuildKit's committed snapshot (no copy), with
// no blob until something asks for one (lazy layers); pruning BuildKit's whole cache afterwards leaves the image
// whole: it runs with the right file, and docker save's blobs hash to
// their names, before and after the prune.
func TestBuildKitExportLinks(t *testing.T) {
	r := newBuildRig(t)
	big := make([]byte, 3<<20)
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(big)
	ctx := writeContext(t, map[string]string{
		"Dockerfile": "FROM busybox\nRUN echo run > /r\nCOPY big /app/big\n",
		"big":        string(big),
	})
	r.mustBuildx("buildx", "build", "--progress=plain", "-t", "bklink", "--load", ctx)

	img := filepath.Join(r.d.root, "image")
	files := linkCounts(t, filepath.Join(img, "snapshots", "layers"), "big")
	if len(files) != 1 || files[0] < 2 {
		t.Errorf("app/big in pier's layers: link counts %v, want one file linked with BuildKit's snapshot", files)
	}
	// (busybox's blob is ~1 MB; the built layer holds 3 MB.)
	if n := bigBlobs(t, filepath.Join(img, "blobs", "sha256"), 2<<20); n != 0 {
		t.Errorf("%d layer blobs of 2 MB or more in pier's store after the build, want none (lazy layers)", n)
	}
	check := func(when string) {
		t.Helper()
		want := hex.EncodeToString(sum[:]) + "  /app/big\n"
		if got := r.mustDocker(nil, "run", "--rm", "bklink", "md5sum", "/app/big"); got != want {
			t.Errorf("%s: md5sum in the container = %q, want %q", when, got, want)
		}
		savedBlobsHash(t, r, "bklink", when)
	}
	check("after the build")

	code, out, errs := r.docker("/usr/local/bin/docker", []string{"DOCKER_BUILDKIT=0"}, "builder", "prune", "-af")
	if code != 0 {
		t.Fatalf("builder prune -af = %d\n%s%s", code, out, errs)
	}
	if files := linkCounts(t, filepath.Join(img, "snapshots", "layers"), "big"); len(files) != 1 || files[0] != 1 {
		t.Errorf("after the prune: link counts %v, want the layer's file alone", files)
	}
	check("after pruning BuildKit's cache")
	r.mustDocker(nil, "rmi", "bklink")
	r.nothingLeft()
}

// linkCounts lists the link count of each regular file called name
// under dir.
func linkCounts(t *testing.T, dir, name string) []uint64 {
	t.Helper()
	var out []uint64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Name() == name && d.Type().IsRegular() {
			fi, err := os.Lstat(p)
			if err != nil {
				return err
			}
			out = append(out, fi.Sys().(*syscall.Stat_t).Nlink)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// bigBlobs counts the blobs in dir of at least min bytes.
func bigBlobs(t *testing.T, dir string, min int64) int {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		fi, err := e.Info()
		if err == nil && fi.Size() >= min {
			n++
		}
	}
	return n
}

// savedBlobsHash checks that every blob in docker save's archive of img
// hashes to its name.
func savedBlobsHash(t *testing.T, r *buildRig, img, when string) {
	t.Helper()
	cmd := exec.Command("/usr/local/bin/docker", "--host", r.d.host, "save", img)
	cmd.Env = append(cleanEnv(), "DOCKER_CONFIG="+t.TempDir())
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: docker save %s: %v", when, img, err)
	}
	tr := tar.NewReader(bytes.NewReader(raw))
	blobs := 0
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: save %s: %v", when, img, err)
		}
		name, ok := strings.CutPrefix(h.Name, "blobs/sha256/")
		if !ok || h.Typeflag != tar.TypeReg {
			continue
		}
		hs := sha256.New()
		if _, err := io.Copy(hs, tr); err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(hs.Sum(nil)); got != name {
			t.Errorf("%s: saved blob %s hashes to %s", when, name, got)
		}
		blobs++
	}
	if blobs < 3 {
		t.Errorf("%s: docker save %s: %d blobs, want a manifest, a config and layers", when, img, blobs)
	}
}
