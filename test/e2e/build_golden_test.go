package e2e_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"testing"
)

// goldenImage is what scripts/record-build-golden.sh keeps of an image
// Docker 20.10's classic builder made.
type goldenImage struct {
	Author  string           `json:"author"`
	Config  map[string]any   `json:"config"`
	History []map[string]any `json:"history"`
}

var contentHash = regexp.MustCompile(`(file|dir|multi):[0-9a-f]{64}`)

// normalise drops what differs by nature (ids, times, the base image's
// own history, content hashes, whose recipe is the builder's own) and
// keeps every effect of the Dockerfile.
func (g goldenImage) normalise() goldenImage {
	cfg := map[string]any{}
	for k, v := range g.Config {
		switch k {
		case "Image", "Hostname", "Domainname", "AttachStdin", "AttachStdout", "AttachStderr", "Tty", "OpenStdin", "StdinOnce":
			continue // ids, and defaults dockerd writes as false/"" and pier omits
		}
		if v == nil || v == "" {
			continue // dockerd writes empty fields, pier omits them
		}
		cfg[k] = v
	}
	out := goldenImage{Author: g.Author, Config: cfg}
	for _, h := range g.History[1:] {
		e := map[string]any{}
		for k, v := range h {
			switch k {
			case "created":
				continue
			case "created_by":
				v = contentHash.ReplaceAllString(v.(string), "$1:HASH")
			}
			e[k] = v
		}
		out.History = append(out.History, e)
	}
	return out
}

// savedConfig reads an image's config through docker save, as the
// recording script does on Docker's side.
func savedConfig(t *testing.T, r *buildRig, ref string) goldenImage {
	t.Helper()
	tarPath := filepath.Join(t.TempDir(), "image.tar")
	r.mustDocker(nil, "save", "-o", tarPath, ref)
	files := readTar(t, tarPath)
	var manifest []struct{ Config string }
	if err := json.Unmarshal(files["manifest.json"], &manifest); err != nil || len(manifest) != 1 {
		t.Fatalf("docker save manifest.json: %v %s", err, files["manifest.json"])
	}
	var g goldenImage
	if err := json.Unmarshal(files[manifest[0].Config], &g); err != nil {
		t.Fatalf("config %s: %v", manifest[0].Config, err)
	}
	return g
}

// TestBuildMatchesDocker: the image config and history pier's builder
// makes of each test Dockerfile are Docker 20.10's (recorded in
// testdata/build/golden by scripts/record-build-golden.sh).
func TestBuildMatchesDocker(t *testing.T) {
	r := newBuildRig(t)
	for _, name := range []string{"instructions", "multistage"} {
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata/build/golden", name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			var want goldenImage
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			r.mustDocker([]string{"DOCKER_BUILDKIT=0"}, "build", "-q", "--network", "none", "-t", "golden-"+name, filepath.Join("testdata/build", name))
			got := savedConfig(t, r, "golden-"+name).normalise()
			want = want.normalise()
			if !reflect.DeepEqual(got.Config, want.Config) {
				gb, _ := json.MarshalIndent(got.Config, "", "  ")
				wb, _ := json.MarshalIndent(want.Config, "", "  ")
				t.Errorf("config differs from Docker's:\npier:\n%s\ndocker:\n%s", gb, wb)
			}
			if got.Author != want.Author {
				t.Errorf("author %q, Docker's %q", got.Author, want.Author)
			}
			if len(got.History) != len(want.History) {
				t.Errorf("%d history entries, Docker made %d", len(got.History), len(want.History))
			}
			for i := range min(len(got.History), len(want.History)) {
				if !reflect.DeepEqual(got.History[i], want.History[i]) {
					t.Errorf("history[%d]:\npier   %v\ndocker %v", i, got.History[i], want.History[i])
				}
			}
		})
	}
	// The multi-stage image's last RUN deleted a file of busybox's: the
	// layer carries a whiteout.
	if code, out, _ := r.docker("/usr/bin/docker", nil, "run", "--rm", "golden-multistage", "ls", "/bin/vi"); code == 0 {
		t.Errorf("/bin/vi, deleted by a RUN, is in the image: %s", out)
	}
	if got := r.mustDocker(nil, "run", "--rm", "golden-multistage"); got != "compiled\n" {
		t.Errorf("multistage image runs %q", got)
	}
	r.nothingLeft()
}
