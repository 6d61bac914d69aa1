package e2e_test

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// buildxPlugin is the docker-buildx that scripts/install-buildx.sh
// (make test-deps) installs into pier's own plugin folder, so that the
// machine's docker keeps its classic path unless a test asks.
func buildxPlugin(t *testing.T) string {
	t.Helper()
	p := os.Getenv("PIER_BUILDX")
	if p == "" {
		home, _ := os.UserHomeDir()
		p = filepath.Join(home, ".cache/pier/docker-config/cli-plugins/docker-buildx")
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("buildx plugin: %v (scripts/install-buildx.sh installs it)", err)
	}
	return p
}

// buildx runs docker CLI 28 with the buildx plugin against the rig's
// pierd: its docker driver speaks to pierd's /grpc and /session.
func (r *buildRig) buildx(args ...string) (int, string) {
	r.t.Helper()
	cfg := r.t.TempDir()
	if err := os.MkdirAll(filepath.Join(cfg, "cli-plugins"), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.Symlink(buildxPlugin(r.t), filepath.Join(cfg, "cli-plugins", "docker-buildx")); err != nil {
		r.t.Fatal(err)
	}
	cmd := exec.Command("/usr/local/bin/docker", append([]string{"--host", r.d.host}, args...)...)
	cmd.Env = append(cleanEnv(), "DOCKER_CONFIG="+cfg)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	} else if err != nil {
		r.t.Fatalf("docker %v: %v", args, err)
	}
	return 0, string(out)
}

func (r *buildRig) mustBuildx(args ...string) string {
	r.t.Helper()
	code, out := r.buildx(args...)
	if code != 0 {
		r.t.Fatalf("docker %s = %d\n%s\npierd log:\n%s", strings.Join(args, " "), code, out, r.d.stderr)
	}
	return out
}

const buildkitDockerfile = `FROM busybox AS build
ARG BUST=1
RUN --mount=type=cache,target=/cache echo "run $BUST" >> /cache/log && wc -l < /cache/log > /count
RUN --mount=type=secret,id=tok wc -c < /run/secrets/tok > /seclen
COPY <<EOT /greeting
hello from a heredoc
EOT
FROM busybox
COPY --from=build /count /seclen /greeting /out/
CMD ["cat", "/out/greeting"]
`

const buildkitSecret = "pier-secret-7f3a9c"

// TestBuildKitBuildx: the real buildx plugin (docker driver) builds a
// multi-stage Dockerfile with a cache mount, a secret mount and a
// heredoc through pierd's BuildKit; the image is in pier's store at once
// and runs; an unchanged rebuild runs no RUN; the cache mount keeps its
// content across builds; the secret is in no layer; --output type=local
// writes the files; --cache-to/--cache-from type=local, --build-context
// and --output type=tar work; nothing is left mounted.
func TestBuildKitBuildx(t *testing.T) {
	r := newBuildRig(t)
	resp, err := r.d.get("/_ping")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if v := resp.Header.Get("Builder-Version"); v != "2" {
		t.Errorf("/_ping Builder-Version = %q, want 2", v)
	}
	ctx := writeContext(t, map[string]string{"Dockerfile": buildkitDockerfile})
	secret := filepath.Join(t.TempDir(), "tok")
	if err := os.WriteFile(secret, []byte(buildkitSecret), 0o600); err != nil {
		t.Fatal(err)
	}
	build := func(extra ...string) string {
		args := append([]string{"buildx", "build", "--progress=plain", "--secret", "id=tok,src=" + secret}, extra...)
		return r.mustBuildx(append(args, ctx)...)
	}

	out := build("-t", "bk:1", "--load")
	if n := ranSteps(out); n != 2 {
		t.Errorf("first build ran %d RUN steps, want 2:\n%s", n, out)
	}
	if got := r.mustDocker(nil, "run", "--rm", "bk:1"); got != "hello from a heredoc\n" {
		t.Errorf("run bk:1 = %q", got)
	}
	if got := r.mustDocker(nil, "run", "--rm", "bk:1", "cat", "/out/count", "/out/seclen"); got != "1\n"+strconv.Itoa(len(buildkitSecret))+"\n" {
		t.Errorf("count, secret length = %q", got)
	}
	if imgs := r.mustDocker(nil, "images", "--format", "{{.Repository}}:{{.Tag}}"); !strings.Contains(imgs, "bk:1") {
		t.Errorf("docker images lacks bk:1:\n%s", imgs)
	}

	// Unchanged: every RUN comes from the cache.
	out = build("-t", "bk:2", "--load")
	if n := ranSteps(out); n != 0 {
		t.Errorf("unchanged rebuild ran %d RUN steps:\n%s", n, out)
	}

	// A changed build arg reruns the cache-mount step, which finds the
	// first build's line in its cache.
	build("--build-arg", "BUST=2", "-t", "bk:3", "--load")
	if got := r.mustDocker(nil, "run", "--rm", "bk:3", "cat", "/out/count"); got != "2\n" {
		t.Errorf("cache mount count after second run = %q, want 2", got)
	}

	// The secret is in no layer of either stage.
	build("--target", "build", "-t", "bk:stage", "--load")
	for _, img := range []string{"bk:1", "bk:stage"} {
		if layersContain(t, r, img, buildkitSecret) {
			t.Errorf("%s has the secret in a layer", img)
		}
	}

	dest := t.TempDir()
	build("--output", "type=local,dest="+dest)
	if b, err := os.ReadFile(filepath.Join(dest, "out", "greeting")); err != nil || string(b) != "hello from a heredoc\n" {
		t.Errorf("--output type=local: out/greeting = %q, %v", b, err)
	}

	// No tag (the docker driver still exports to the store, untagged)
	// with the cache exported to a directory, then imported.
	cacheDir := filepath.Join(t.TempDir(), "cache")
	build("--cache-to", "type=local,dest="+cacheDir)
	if _, err := os.Stat(filepath.Join(cacheDir, "index.json")); err != nil {
		t.Errorf("--cache-to type=local: %v", err)
	}
	build("--cache-from", "type=local,src="+cacheDir, "--platform", "linux/amd64", "-t", "bk:4", "--load")

	// A named build context, and the result as a tar.
	extra := writeContext(t, map[string]string{"e.txt": "extra context\n"})
	bc := writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nCOPY --from=ex e.txt /e.txt\nRUN cat /e.txt\n"})
	tarPath := filepath.Join(t.TempDir(), "out.tar")
	r.mustBuildx("buildx", "build", "--progress=plain", "--build-context", "ex="+extra, "--output", "type=tar,dest="+tarPath, bc)
	if raw, err := os.ReadFile(tarPath); err != nil || !bytes.Contains(raw, []byte("extra context")) {
		t.Errorf("--build-context with --output type=tar: %v", err)
	}

	for _, img := range []string{"bk:1", "bk:2", "bk:3", "bk:4", "bk:stage"} {
		r.mustDocker(nil, "rmi", img)
	}
	r.nothingLeft()
}

// ranSteps counts the RUN steps of a plain progress log that were
// executed (those not reported CACHED).
func ranSteps(out string) int {
	runs := map[string]bool{}
	re := regexp.MustCompile(`^(#\d+) \[[^\]]+\] RUN `)
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			runs[m[1]] = true
		}
	}
	for id := range runs {
		if strings.Contains(out, id+" CACHED\n") {
			delete(runs, id)
		}
	}
	return len(runs)
}

// layersContain reports whether any layer of img (from docker save,
// decompressed) holds needle.
func layersContain(t *testing.T, r *buildRig, img, needle string) bool {
	t.Helper()
	cmd := exec.Command("/usr/local/bin/docker", "--host", r.d.host, "save", img)
	cmd.Env = append(cleanEnv(), "DOCKER_CONFIG="+t.TempDir())
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("docker save %s: %v", img, err)
	}
	tr := tar.NewReader(bytes.NewReader(raw))
	found, layers := false, 0
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("save %s: %v", img, err)
		}
		b, _ := io.ReadAll(tr)
		if len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b {
			if zr, err := gzip.NewReader(bytes.NewReader(b)); err == nil {
				b, _ = io.ReadAll(zr)
			}
		}
		if bytes.Contains(b, []byte("ustar")) {
			layers++
		}
		if bytes.Contains(b, []byte(needle)) {
			t.Logf("%s: %s holds the needle", img, h.Name)
			found = true
		}
	}
	if layers == 0 {
		t.Fatalf("docker save %s: no layer found in the archive", img)
	}
	return found
}

// TestBuildKitCLI20AndRestart: Debian's docker CLI 20.10, told by /_ping
// that BuildKit is served, builds through POST /build?version=2 and its
// session (the Dockerfile's secret and heredoc too) with --iidfile; after
// pierd restarts on the same root, /system/df lists the build cache and
// the same build runs no RUN: the cache survived.
func TestBuildKitCLI20AndRestart(t *testing.T) {
	r := newBuildRig(t)
	ctx := writeContext(t, map[string]string{"Dockerfile": buildkitDockerfile})
	secret := filepath.Join(t.TempDir(), "tok")
	if err := os.WriteFile(secret, []byte(buildkitSecret), 0o600); err != nil {
		t.Fatal(err)
	}
	build := func() string {
		t.Helper()
		iid := filepath.Join(t.TempDir(), "iid")
		code, out, errs := r.docker("/usr/bin/docker", nil, "build", "--progress=plain", "--secret", "id=tok,src="+secret,
			"--iidfile", iid, "-t", "bk20", ctx)
		if code != 0 {
			t.Fatalf("docker 20.10 build = %d\n%s\n%s\npierd:\n%s", code, out, errs, r.d.stderr)
		}
		id, _ := os.ReadFile(iid)
		if got := strings.TrimSpace(r.mustDocker(nil, "inspect", "--format", "{{.Id}}", "bk20")); got != string(id) {
			t.Errorf("--iidfile %q, image bk20 is %q", id, got)
		}
		return out + errs
	}
	if out := build(); ranSteps(out) != 2 {
		t.Errorf("first build ran %d RUN steps, want 2:\n%s", ranSteps(out), out)
	}
	if got := r.mustDocker(nil, "run", "--rm", "bk20"); got != "hello from a heredoc\n" {
		t.Errorf("run bk20 = %q", got)
	}
	dir := r.d.dir
	r.d.stop(t)
	r.d = startPierd(t, dir)
	// /system/df counts the cache from the disk, before any build.
	if n := buildCacheRecords(t, r.d); n == 0 {
		t.Errorf("/system/df after restart: no build cache records")
	}
	if out := build(); ranSteps(out) != 0 {
		t.Errorf("build after a restart ran %d RUN steps, want 0 (cache lost):\n%s", ranSteps(out), out)
	}
	r.mustDocker(nil, "rmi", "bk20")
	r.nothingLeft()
}

func buildCacheRecords(t *testing.T, d *pierd) int {
	t.Helper()
	resp, err := d.get("/system/df")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var df struct{ BuildCache []struct{ ID string } }
	if err := json.NewDecoder(resp.Body).Decode(&df); err != nil {
		t.Fatalf("/system/df: %v", err)
	}
	return len(df.BuildCache)
}

// TestBuildKitCompose: with buildx present, `docker compose build` builds
// through pierd's BuildKit (a cache mount proves it is not the classic
// path) and the image runs.
func TestBuildKitCompose(t *testing.T) {
	r := newBuildRig(t)
	dir := writeContext(t, map[string]string{
		"Dockerfile":   "FROM busybox\nRUN --mount=type=cache,target=/c echo composed > /msg\nCMD [\"cat\", \"/msg\"]\n",
		"compose.yaml": "services:\n  app:\n    build: .\n    image: bkcompose\n",
	})
	r.mustBuildx("compose", "-f", filepath.Join(dir, "compose.yaml"), "build")
	if got := r.mustDocker(nil, "run", "--rm", "bkcompose"); got != "composed\n" {
		t.Errorf("run bkcompose = %q", got)
	}
	r.mustDocker(nil, "rmi", "bkcompose")
	r.nothingLeft()
}
