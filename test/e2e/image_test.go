package e2e_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pier-engine/pier/internal/testutil"
)

// dockerCLIs are the docker clients pierd must serve: Docker's 28 and
// Debian's 20.10, where installed.
func dockerCLIs() []string {
	var out []string
	for _, p := range []string{"/usr/local/bin/docker", "/usr/bin/docker"} {
		if _, err := os.Stat(p); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// mustRun runs a command that must succeed and returns its stdout.
func mustRun(t *testing.T, name string, args ...string) string {
	t.Helper()
	code, out, errs := run(t, name, args...)
	if code != 0 {
		t.Fatalf("%s %s = %d\nstdout: %s\nstderr: %s", filepath.Base(name), strings.Join(args, " "), code, out, errs)
	}
	return out
}

func imageID(t *testing.T, pier, host, ref string) string {
	t.Helper()
	id := strings.TrimSpace(mustRun(t, pier, "-H", host, "image", "inspect", "--format", "{{.Id}}", ref))
	if !strings.HasPrefix(id, "sha256:") || len(id) != 71 {
		t.Fatalf("image id of %s = %q", ref, id)
	}
	return id
}

// TestImages: the default busybox made offline, seen alike by pier and
// both docker CLIs; tag and rmi; save, rmi, load keeps the id.
func TestImages(t *testing.T) {
	d := newPierd(t, "busybox")
	pier := testutil.Binary(t, "pier")
	id := imageID(t, pier, d.host, "busybox:latest")
	short := strings.TrimPrefix(id, "sha256:")[:12]

	out := mustRun(t, pier, "-H", d.host, "images")
	if !regexp.MustCompile(`(?m)^busybox\s+latest\s+` + short + `\s`).MatchString(out) {
		t.Errorf("pier images lacks busybox latest %s:\n%s", short, out)
	}
	for _, docker := range dockerCLIs() {
		out := mustRun(t, docker, "-H", d.host, "images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}")
		if !strings.Contains(out, "busybox:latest "+short+"\n") {
			t.Errorf("%s images:\n%s", docker, out)
		}
		if got := strings.TrimSpace(mustRun(t, docker, "-H", d.host, "image", "inspect", "--format", "{{.Id}}", "busybox")); got != id {
			t.Errorf("%s image inspect = %s, pier says %s", docker, got, id)
		}
	}

	mustRun(t, pier, "-H", d.host, "tag", "busybox", "mine/box:v1")
	if got := imageID(t, pier, d.host, "mine/box:v1"); got != id {
		t.Errorf("tagged image id %s, want %s", got, id)
	}
	if out := mustRun(t, pier, "-H", d.host, "rmi", "mine/box:v1"); out != "Untagged: mine/box:v1\n" {
		t.Errorf("rmi of a second tag: %q", out)
	}

	archive := filepath.Join(t.TempDir(), "busybox.tar")
	mustRun(t, pier, "-H", d.host, "save", "-o", archive, "busybox")
	out = mustRun(t, pier, "-H", d.host, "rmi", "busybox")
	if !strings.Contains(out, "Deleted: "+id) {
		t.Errorf("rmi busybox: %q", out)
	}
	if out := mustRun(t, pier, "-H", d.host, "images", "-q"); out != "" {
		t.Errorf("images after rmi: %q", out)
	}
	if out := mustRun(t, pier, "-H", d.host, "load", "-i", archive); out != "Loaded image: busybox:latest\n" {
		t.Errorf("load: %q", out)
	}
	if got := imageID(t, pier, d.host, "busybox"); got != id {
		t.Errorf("id after save, rmi, load = %s, want %s", got, id)
	}
}

// TestImageRegistry: pier pushes busybox to Debian's docker-registry on
// 127.0.0.1, the image is removed, and each docker CLI pulls it back
// through pierd with the digest pier pushed.
func TestImageRegistry(t *testing.T) {
	d := newPierd(t, "busybox", "docker-registry")
	pier := testutil.Binary(t, "pier")
	ref := testutil.StartRegistry(t, testutil.Registry{}) + "/busybox:t"
	id := imageID(t, pier, d.host, "busybox")
	mustRun(t, pier, "-H", d.host, "tag", "busybox", ref)
	out := mustRun(t, pier, "-H", d.host, "push", ref)
	m := regexp.MustCompile(`(?m)^t: digest: (sha256:[0-9a-f]{64})`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("pier push printed no digest:\n%s", out)
	}
	digest := m[1]
	pullers := append(dockerCLIs(), pier)
	for _, cli := range pullers {
		mustRun(t, pier, "-H", d.host, "rmi", "-f", id)
		out := mustRun(t, cli, "-H", d.host, "pull", ref)
		if !strings.Contains(out, "Digest: "+digest) || !strings.Contains(out, "Downloaded newer image for "+ref) {
			t.Errorf("%s pull:\n%s", cli, out)
		}
		if got := imageID(t, pier, d.host, ref); got != id {
			t.Errorf("%s pulled %s, pushed %s", cli, got, id)
		}
		digests := mustRun(t, cli, "-H", d.host, "image", "inspect", "--format", "{{json .RepoDigests}}", ref)
		if !strings.Contains(digests, strings.TrimSuffix(ref, ":t")+"@"+digest) {
			t.Errorf("%s: RepoDigests %s lack %s", cli, digests, digest)
		}
	}
	// Pulled again with everything present: up to date.
	if out := mustRun(t, pier, "-H", d.host, "pull", ref); !strings.Contains(out, "Image is up to date for "+ref) {
		t.Errorf("second pull:\n%s", out)
	}
}
