package e2e_test

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ulikunitz/xz"
)

var classicBuild = []string{"DOCKER_BUILDKIT=0"}

// build runs a classic docker build of dir tagged tag and returns its
// exit code and combined output.
func (r *buildRig) build(dir, tag string, extra ...string) (int, string) {
	r.t.Helper()
	args := append([]string{"build", "-t", tag}, extra...)
	code, out, errs := r.docker("/usr/local/bin/docker", classicBuild, append(args, dir)...)
	return code, out + errs
}

func (r *buildRig) mustBuild(dir, tag string, extra ...string) string {
	r.t.Helper()
	code, out := r.build(dir, tag, extra...)
	if code != 0 {
		r.t.Fatalf("build %s = %d\n%s\npierd log:\n%s", tag, code, out, r.d.stderr)
	}
	return out
}

// TestBuildVolumeSemantics: as with dockerd, a VOLUME directory keeps the
// content it had (a later RUN sees it, and what that RUN writes there is
// not in the image), the build leaves no volume behind, a container of
// the image gets the content in its volume, and VOLUME over a file fails.
func TestBuildVolumeSemantics(t *testing.T) {
	r := newBuildRig(t)
	dir := writeContext(t, map[string]string{"Dockerfile": `FROM busybox
RUN mkdir /v && echo a > /v/a
VOLUME /v
RUN echo b > /v/b && echo "seen: $(ls /v | tr '\n' ' ')"
RUN echo "after: $(ls /v | tr '\n' ' ')"
`})
	out := r.mustBuild(dir, "vol")
	if !strings.Contains(out, "seen: a b ") || !strings.Contains(out, "after: a \n") {
		t.Errorf("RUN under VOLUME: want the image's content, and the next RUN without b:\n%s", out)
	}
	if got := strings.TrimSpace(r.mustDocker(nil, "run", "--rm", "vol", "ls", "/v")); got != "a" {
		t.Errorf("run of the image: /v holds %q, want a", got)
	}
	if got := strings.TrimSpace(r.mustDocker(nil, "volume", "ls", "-q")); got != "" {
		t.Errorf("volumes left by the build and run --rm: %s", got)
	}
	dir = writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nRUN touch /foo\nVOLUME /foo\n"})
	if code, out := r.build(dir, "volfile"); code == 0 || !strings.Contains(out, "file exists") {
		t.Errorf("VOLUME over a file: exit %d\n%s", code, out)
	}
	r.mustDocker(nil, "rmi", "vol")
	r.nothingLeft()
}

// xzTar is a .tar.xz holding test/foo = "Hi".
func xzTar(t *testing.T) string {
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	if err := tw.WriteHeader(&tar.Header{Name: "test/foo", Mode: 0o644, Size: 2}); err != nil {
		t.Fatal(err)
	}
	tw.Write([]byte("Hi"))
	tw.Close()
	var xb bytes.Buffer
	xw, err := xz.NewWriter(&xb)
	if err != nil {
		t.Fatal(err)
	}
	xw.Write(tb.Bytes())
	if err := xw.Close(); err != nil {
		t.Fatal(err)
	}
	return xb.String()
}

// TestBuildCompatDetails: ADD of a .tar.xz is extracted; STOPSIGNAL shows
// in a container's config; the image keeps the step's container config; COPY --from=0 in stage 0 gets dockerd's text;
// a build emits an image tag event naming image:latest; --cgroup-parent
// puts RUN under it (inside pier's parent).
func TestBuildCompatDetails(t *testing.T) {
	r := newBuildRig(t)
	since := strconv.FormatInt(time.Now().Unix(), 10)
	dir := writeContext(t, map[string]string{"test.tar.xz": xzTar(t), "Dockerfile": `FROM busybox
ADD test.tar.xz /
RUN grep Hi /test/foo
STOPSIGNAL SIGKILL
`})
	r.mustBuild(dir, "details")
	// Before API 1.45 inspect shows the last step's config, as dockerd's.
	cc := r.mustDocker([]string{"DOCKER_API_VERSION=1.41"}, "inspect", "-f", "{{json .ContainerConfig.Cmd}}", "details")
	if want := `["/bin/sh","-c","#(nop) ","STOPSIGNAL SIGKILL"]`; strings.TrimSpace(cc) != want {
		t.Errorf("ContainerConfig.Cmd at API 1.41 = %s, want %s", cc, want)
	}
	r.mustDocker(nil, "create", "--name", "details-ctr", "details", "top")
	if got := strings.TrimSpace(r.mustDocker(nil, "inspect", "-f", "{{.Config.StopSignal}}", "details-ctr")); got != "SIGKILL" {
		t.Errorf("container's Config.StopSignal = %q, want the image's SIGKILL", got)
	}
	r.mustDocker(nil, "rm", "details-ctr")
	until := strconv.FormatInt(time.Now().Unix()+1, 10)
	events := r.mustDocker(nil, "events", "--since", since, "--until", until, "--filter", "type=image", "--format", "{{.Action}} {{.Actor.Attributes.name}}")
	if !strings.Contains(events, "tag details:latest") {
		t.Errorf("no tag event for details:latest:\n%s", events)
	}
	if n := strings.Count("\n"+events, "\ncreate sha256:"); n != 3 {
		t.Errorf("%d image create events, want one per committed step (3):\n%s", n, events)
	}

	dir = writeContext(t, map[string]string{"foo": "x", "Dockerfile": "FROM busybox\nCOPY --from=0 foo bar\n"})
	if code, out := r.build(dir, "fromself"); code == 0 || !strings.Contains(out, "invalid from flag value 0: refers to current build stage") {
		t.Errorf("COPY --from=0 in stage 0: exit %d\n%s", code, out)
	}

	dir = writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nRUN cat /proc/self/cgroup\n"})
	out := r.mustBuild(dir, "cgparent", "--cgroup-parent", "e2e-parent")
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err != nil { // cgroup v1: dockerd's host cgroupns
		if !strings.Contains(out, ":memory:/pier/e2e-parent/") {
			t.Errorf("RUN with --cgroup-parent e2e-parent: want its memory cgroup under /pier/e2e-parent:\n%s", out)
		}
	}
	for _, p := range []string{"/sys/fs/cgroup/memory/e2e-parent", "/sys/fs/cgroup/e2e-parent"} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s made outside pier's parent", p)
		}
	}
	r.mustDocker(nil, "rmi", "details", "cgparent")
	r.nothingLeft()
}

type dfBuildCache struct {
	BuildCache []struct {
		ID     string
		Size   int64
		Shared bool
		InUse  bool
	}
}

// TestBuildCacheFromDfPrune: --cache-from uses the named image's steps
// and nothing else; /system/df lists the step cache and builder prune
// frees what df called reclaimable; image prune spares the steps under a
// tagged image.
func TestBuildCacheFromDfPrune(t *testing.T) {
	r := newBuildRig(t)
	// baz does not compress: the ADD's layer is about its size.
	baz := make([]byte, 64<<10)
	rand.NewChaCha8([32]byte{1}).Read(baz)
	dir := writeContext(t, map[string]string{"baz": string(baz), "Dockerfile": `FROM busybox
ENV FOO=bar
ADD baz /
RUN echo layer > /layer
`})
	r.mustBuild(dir, "build1")
	id1 := strings.TrimSpace(r.mustDocker(nil, "inspect", "-f", "{{.Id}}", "build1"))
	out := r.mustBuild(dir, "build2", "--cache-from", "build1")
	if id2 := strings.TrimSpace(r.mustDocker(nil, "inspect", "-f", "{{.Id}}", "build2")); id2 != id1 || strings.Count(out, "Using cache") != 3 {
		t.Errorf("--cache-from build1: id %s want %s\n%s", id2, id1, out)
	}
	out = r.mustBuild(dir, "build3", "--cache-from", "nosuchtag")
	if strings.Count(out, "Using cache") != 0 {
		t.Errorf("--cache-from nosuchtag used the cache:\n%s", out)
	}
	r.mustDocker(nil, "rmi", "build2", "build3")

	// build1's steps are intermediate images: image prune keeps them.
	r.mustDocker(nil, "image", "prune", "-f")
	if out := r.mustBuild(dir, "build1"); strings.Count(out, "Using cache") != 3 {
		t.Errorf("image prune took build1's step images:\n%s", out)
	}
	// An untagged build: its steps are cache only, its layers reclaimable.
	dir2 := writeContext(t, map[string]string{"baz": string(baz), "Dockerfile": "FROM busybox\nADD baz /other\nRUN echo x > /x\n"})
	r.mustDocker(classicBuild, "build", "-q", dir2)

	df := r.apiDF()
	var reclaimable int64
	for _, c := range df.BuildCache {
		if !c.Shared && !c.InUse {
			reclaimable += c.Size
		}
	}
	if len(df.BuildCache) < 3 || reclaimable < 64<<10 {
		t.Fatalf("df build cache %+v: want the steps, the ADD's layer reclaimable", df.BuildCache)
	}
	out = r.mustDocker(nil, "builder", "prune", "-f")
	if !strings.Contains(out, "Total reclaimed space:") || strings.Contains(out, "Total reclaimed space: 0B") {
		t.Errorf("builder prune: %s (df said %d reclaimable)", out, reclaimable)
	}
	for _, c := range r.apiDF().BuildCache {
		if !c.Shared {
			t.Errorf("build cache after prune: %+v is cache only", c)
		}
	}
	r.mustDocker(nil, "rmi", "build1")
	r.nothingLeft()
}

// apiDF reads /system/df's BuildCache.
func (r *buildRig) apiDF() dfBuildCache {
	r.t.Helper()
	resp, err := r.d.get("/v1.41/system/df")
	if err != nil {
		r.t.Fatalf("GET /system/df: %v", err)
	}
	defer resp.Body.Close()
	var df dfBuildCache
	if err := json.NewDecoder(resp.Body).Decode(&df); err != nil {
		r.t.Fatalf("GET /system/df: %v", err)
	}
	return df
}

// TestBuildCacheFromLoaded: an image whose step images are not here (saved,
// removed with its steps, loaded back) still serves every step of a build
// that names it with --cache-from: the middle steps are restored from its
// layers, no RUN runs, and the result is the loaded image.
func TestBuildCacheFromLoaded(t *testing.T) {
	r := newBuildRig(t)
	dir := writeContext(t, map[string]string{"baz": "baz", "Dockerfile": `FROM busybox
ENV FOO=bar
ADD baz /
RUN echo ran-the-step > /ran
`})
	r.mustBuild(dir, "loaded")
	id := strings.TrimSpace(r.mustDocker(nil, "inspect", "-f", "{{.Id}}", "loaded"))
	saved := filepath.Join(t.TempDir(), "img.tar")
	r.mustDocker(nil, "save", "-o", saved, "loaded")
	r.mustDocker(nil, "rmi", "loaded")
	r.mustDocker(nil, "image", "prune", "-f")
	if out := r.mustDocker(nil, "images", "-aq"); strings.Count(out, "\n") != 1 {
		t.Fatalf("want only busybox left, images: %s", out)
	}
	r.mustDocker(nil, "load", "-i", saved)
	out := r.mustBuild(dir, "again", "--cache-from", "loaded")
	if got := strings.TrimSpace(r.mustDocker(nil, "inspect", "-f", "{{.Id}}", "again")); got != id ||
		strings.Count(out, "Using cache") != 3 || strings.Contains(out, "Running in") {
		t.Errorf("--cache-from a loaded image: id %s want %s\n%s", got, id, out)
	}
	if got := r.mustDocker(nil, "run", "--rm", "again", "cat", "/baz", "/ran"); got != "bazran-the-step\n" {
		t.Errorf("restored image's files: %q", got)
	}
	r.mustDocker(nil, "rmi", "again", "loaded")
	r.nothingLeft()
}
