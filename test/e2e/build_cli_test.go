package e2e_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pier-engine/pier/internal/testutil"
)

// TestBuildPierCLI: pier build with a context directory and a
// Dockerfile outside it, a Dockerfile on stdin, -q and --iidfile; a
// failing RUN's exit code is pier's; pier diff and pier commit.
func TestBuildPierCLI(t *testing.T) {
	r := newBuildRig(t)
	pier := testutil.Binary(t, "pier")
	p := func(args ...string) (int, string, string) {
		return run(t, pier, append([]string{"-H", r.d.host}, args...)...)
	}
	ctx := writeContext(t, map[string]string{"hello.txt": "hello from the context\n", ".dockerignore": "secret.txt\n", "secret.txt": "no\n"})
	df := filepath.Join(t.TempDir(), "Elsewhere.dockerfile")
	if err := os.WriteFile(df, []byte(multiStage+"COPY . /ctx\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	iid := filepath.Join(t.TempDir(), "iid")
	code, out, errs := p("build", "-q", "-f", df, "--build-arg", "MSG=pier", "--iidfile", iid, "-t", "by-pier", ctx)
	id, _ := os.ReadFile(iid)
	if code != 0 || strings.TrimSpace(out) != string(id) || !strings.HasPrefix(out, "sha256:") {
		t.Fatalf("pier build -q = %d %q %q (iidfile %q)", code, out, errs, id)
	}
	if got := r.mustDocker(nil, "run", "--rm", "by-pier"); got != "pier from the build stage\nhello from the context\n" {
		t.Errorf("pier-built image runs %q", got)
	}
	if code, out, _ := r.docker("/usr/bin/docker", nil, "run", "--rm", "by-pier", "ls", "/ctx"); code != 0 || strings.Contains(out, "secret.txt") || !strings.Contains(out, "hello.txt") {
		t.Errorf("the context in the image (.dockerignore'd secret.txt must be absent): %d %q", code, out)
	}
	cmd := exec.Command(pier, "-H", r.d.host, "build", "-t", "from-stdin", "-")
	cmd.Stdin = strings.NewReader("FROM busybox\nCMD [\"echo\", \"from stdin\"]\n")
	if b, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(b), "Successfully tagged from-stdin:latest") {
		t.Errorf("pier build - = %v\n%s", err, b)
	}
	if got := r.mustDocker(nil, "run", "--rm", "from-stdin"); got != "from stdin\n" {
		t.Errorf("stdin-built image runs %q", got)
	}
	failing := writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nRUN exit 7\n"})
	if code, _, errs := p("build", "--progress", "plain", failing); code != 7 || !strings.Contains(errs, "returned a non-zero code: 7") {
		t.Errorf("failing RUN: pier build = %d, %q", code, errs)
	}
	r.mustDocker(nil, "run", "--name", "touched", "busybox", "touch", "/made")
	if code, out, errs := p("diff", "touched"); code != 0 || out != "A /made\n" {
		t.Errorf("pier diff = %d %q %q", code, out, errs)
	}
	if code, out, errs := p("commit", "-c", "CMD [\"ls\", \"/made\"]", "touched", "touched:img"); code != 0 || !strings.HasPrefix(out, "sha256:") {
		t.Errorf("pier commit = %d %q %q", code, out, errs)
	}
	if got := r.mustDocker(nil, "run", "--rm", "touched:img"); got != "/made\n" {
		t.Errorf("committed image runs %q", got)
	}
	r.mustDocker(nil, "rm", "touched")
	r.nothingLeft()
}

// TestBuildCompose: `docker compose build` (Compose v2, the CLI plugin
// scripts/install-compose.sh installs) builds through the classic /build
// and the image runs.
func TestBuildCompose(t *testing.T) {
	r := newBuildRig(t)
	plugin := "/usr/local/lib/docker/cli-plugins/docker-compose"
	if _, err := os.Stat(plugin); err != nil {
		t.Fatalf("docker compose plugin missing (scripts/install-compose.sh): %v", err)
	}
	dir := writeContext(t, map[string]string{
		"app/Dockerfile": multiStage, "app/hello.txt": "hello from compose\n",
		"compose.yaml": "services:\n  web:\n    build:\n      context: ./app\n      args:\n        MSG: compose\n    image: composed-web\n",
	})
	code, out, errs := r.docker("/usr/local/bin/docker", nil, "compose", "--project-directory", dir, "-p", "buildtest", "build")
	if code != 0 {
		t.Fatalf("docker compose build = %d\n%s\n%s\npierd:\n%s", code, out, errs, r.d.stderr)
	}
	if got := r.mustDocker(nil, "run", "--rm", "composed-web"); got != "compose from the build stage\nhello from compose\n" {
		t.Errorf("compose-built image runs %q", got)
	}
	r.nothingLeft()
}

// TestBuildAddURL: ADD of a URL downloads it (here from the test's own
// server on 127.0.0.1), as a 0600 file, never extracted.
func TestBuildAddURL(t *testing.T) {
	r := newBuildRig(t)
	h := newHitCounter(t)
	ctx := writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nADD http://" + h.addr + "/remote.txt /r/\nCOPY . /ctx/\n"})
	r.mustDocker([]string{"DOCKER_BUILDKIT=0"}, "build", "-t", "added-url", ctx)
	if got := h.take(); got["/remote.txt"] != 1 {
		t.Errorf("ADD fetched %v", got)
	}
	if got := r.mustDocker(nil, "run", "--rm", "added-url", "sh", "-c", "stat -c '%a %s' /r/remote.txt; cat /r/remote.txt; ls -A /ctx"); got != "600 3\nok\nDockerfile\n" {
		t.Errorf("image has %q", got)
	}
	r.nothingLeft()
}
