package e2e_test

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/pier-engine/pier/internal/testutil"
)

// buildRig is a pierd and the clients that build against it.
type buildRig struct {
	t *testing.T
	d *pierd
}

func newBuildRig(t *testing.T) *buildRig {
	testutil.RequiresRoot(t)
	testutil.Requires(t, "busybox", "overlay")
	testutil.CheckLeaks(t)
	return &buildRig{t: t, d: startPierd(t, shortDir(t))}
}

// docker runs a docker CLI against the rig's pierd with extra
// environment (DOCKER_BUILDKIT=0 and the like).
func (r *buildRig) docker(cli string, env []string, args ...string) (int, string, string) {
	r.t.Helper()
	cmd := exec.Command(cli, append([]string{"--host", r.d.host}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Env = append(append(cleanEnv(), "DOCKER_CONFIG="+r.t.TempDir()), env...)
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String(), errb.String()
	} else if err != nil {
		r.t.Fatalf("%s %v: %v", cli, args, err)
	}
	return 0, out.String(), errb.String()
}

func (r *buildRig) mustDocker(env []string, args ...string) string {
	r.t.Helper()
	code, out, errs := r.docker("/usr/bin/docker", env, args...)
	if code != 0 {
		r.t.Fatalf("docker %s = %d\nstdout: %s\nstderr: %s\npierd log:\n%s", strings.Join(args, " "), code, out, errs, r.d.stderr)
	}
	return out
}

// writeContext makes a build context directory from name -> content.
func writeContext(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// nothingLeft checks that no build left a container, a mounted or
// prepared build layer, or a context behind.
func (r *buildRig) nothingLeft() {
	r.t.Helper()
	if out := r.mustDocker(nil, "ps", "-aq"); strings.TrimSpace(out) != "" {
		r.t.Errorf("containers left: %s", out)
	}
	noContainersLeft(r.t, r.d)
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		r.t.Fatal(err)
	}
	if strings.Contains(string(mi), r.d.root) {
		r.t.Errorf("mounts left under %s:\n%s", r.d.root, mi)
	}
	for _, dir := range []string{"tmp", "build/mnt"} {
		ents, _ := os.ReadDir(filepath.Join(r.d.root, dir))
		for _, e := range ents {
			r.t.Errorf("%s left: %s", dir, e.Name())
		}
	}
	active, _ := filepath.Glob(filepath.Join(r.d.root, "*", "snapshots", "active", "*"))
	for _, a := range active {
		r.t.Errorf("writable layer left: %s", a)
	}
}

const multiStage = `FROM busybox AS build
ARG MSG=default
RUN echo "$MSG from the build stage" > /msg
FROM busybox
COPY --from=build /msg /msg
COPY hello.txt /hello.txt
CMD ["sh", "-c", "cat /msg /hello.txt"]
`

// TestBuildClients: docker CLI 28 (default, which without buildx posts
// to the classic /build, and DOCKER_BUILDKIT=0), Debian's CLI 20.10 with
// DOCKER_BUILDKIT=0 and docker-py build a multi-stage Dockerfile FROM
// busybox, and the result runs.
func TestBuildClients(t *testing.T) {
	r := newBuildRig(t)
	ctx := writeContext(t, map[string]string{"Dockerfile": multiStage, "hello.txt": "hello from the context\n"})
	type client struct {
		name, cli string
		env       []string
	}
	clients := []client{
		{"cli28-default", "/usr/local/bin/docker", nil},
		{"cli28-classic", "/usr/local/bin/docker", []string{"DOCKER_BUILDKIT=0"}},
		{"cli20-classic", "/usr/bin/docker", []string{"DOCKER_BUILDKIT=0"}},
	}
	for _, c := range clients {
		if _, err := os.Stat(c.cli); err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		iid := filepath.Join(t.TempDir(), "iid")
		code, out, errs := r.docker(c.cli, c.env, "build", "-t", "built-"+c.name, "--build-arg", "MSG="+c.name, "--iidfile", iid, ctx)
		if code != 0 {
			t.Errorf("%s build = %d\n%s\n%s\npierd:\n%s", c.name, code, out, errs, r.d.stderr)
			continue
		}
		if !strings.Contains(out, "Successfully tagged built-"+c.name+":latest") || !regexp.MustCompile(`Step 7/7 : CMD`).MatchString(out) {
			t.Errorf("%s build output:\n%s", c.name, out)
		}
		id, _ := os.ReadFile(iid)
		want := strings.TrimSpace(r.mustDocker(nil, "image", "inspect", "-f", "{{.Id}}", "built-"+c.name))
		if string(id) != want {
			t.Errorf("%s --iidfile = %q, image is %q", c.name, id, want)
		}
		got := r.mustDocker(nil, "run", "--rm", "built-"+c.name)
		if got != c.name+" from the build stage\nhello from the context\n" {
			t.Errorf("%s: run = %q", c.name, got)
		}
	}
	// docker-py: images.build, then the image runs.
	script := `import docker, sys
c = docker.DockerClient(base_url="unix://" + sys.argv[1])
img, logs = c.images.build(path=sys.argv[2], tag="built-py", buildargs={"MSG": "docker-py"}, rm=True)
print(img.id)
for l in logs:
    if "stream" in l: sys.stderr.write(l["stream"])
`
	code, out, errs := run(t, sdkPython, "-c", script, r.d.sock, ctx)
	if code != 0 || !strings.HasPrefix(out, "sha256:") {
		t.Fatalf("docker-py build = %d\n%s\n%s", code, out, errs)
	}
	if got := r.mustDocker(nil, "run", "--rm", "built-py"); got != "docker-py from the build stage\nhello from the context\n" {
		t.Errorf("docker-py image: run = %q", got)
	}
	// The step images are intermediate: docker images shows them with -a
	// only, as dockerd does. What stays dangling, as with dockerd, is the
	// last image of each build's first stage (4 builds, 4 MSG values).
	if out := r.mustDocker(nil, "images", "-q", "--filter", "dangling=true"); strings.Count(out, "\n") != 4 {
		t.Errorf("docker images shows %d dangling images, want the 4 first stages':\n%s", strings.Count(out, "\n"), out)
	}
	if all, some := r.mustDocker(nil, "images", "-aq"), r.mustDocker(nil, "images", "-q"); len(all) <= len(some) {
		t.Errorf("docker images -a lists no more than docker images:\n%s\n%s", all, some)
	}
	r.nothingLeft()
}

// hitCounter is an HTTP server on 127.0.0.1 that counts the paths RUN
// steps fetch: the side effect that proves a step ran.
type hitCounter struct {
	mu   sync.Mutex
	hits map[string]int // Guarded by mu.
	addr string
}

func newHitCounter(t *testing.T) *hitCounter {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &hitCounter{hits: map[string]int{}, addr: l.Addr().String()}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		h.mu.Lock()
		h.hits[req.URL.Path]++
		h.mu.Unlock()
		fmt.Fprintln(w, "ok")
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return h
}

// take returns the hits so far and forgets them.
func (h *hitCounter) take() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.hits
	h.hits = map[string]int{}
	return out
}

// TestBuildCache: a rebuild of an unchanged context runs no RUN (each RUN
// fetches a URL from the test: no fetch, no run) and gives the same
// image; a changed COPY source reruns exactly the steps after it;
// --no-cache runs everything; builder prune forgets the cache.
func TestBuildCache(t *testing.T) {
	r := newBuildRig(t)
	h := newHitCounter(t)
	df := fmt.Sprintf(`FROM busybox
RUN wget -q -O /one http://%[1]s/one
COPY src.txt /src.txt
RUN wget -q -O /two http://%[1]s/two
RUN wget -q -O /three http://%[1]s/three
`, h.addr)
	ctx := writeContext(t, map[string]string{"Dockerfile": df, "src.txt": "version 1\n"})
	classic := []string{"DOCKER_BUILDKIT=0"}
	build := func(extra ...string) (string, string) {
		out := r.mustDocker(classic, append(append([]string{"build", "--network", "host", "-t", "cached"}, extra...), ctx)...)
		return strings.TrimSpace(r.mustDocker(nil, "image", "inspect", "-f", "{{.Id}}", "cached")), out
	}
	id1, _ := build()
	if got := h.take(); got["/one"] != 1 || got["/two"] != 1 || got["/three"] != 1 {
		t.Fatalf("first build fetched %v, want each once", got)
	}
	id2, out := build()
	if got := h.take(); len(got) != 0 {
		t.Errorf("unchanged rebuild ran RUN steps: fetched %v", got)
	}
	if id2 != id1 || strings.Count(out, "Using cache") != 4 || strings.Contains(out, "Running in") {
		t.Errorf("unchanged rebuild: id %s, first %s; output:\n%s", id2, id1, out)
	}
	if err := os.WriteFile(filepath.Join(ctx, "src.txt"), []byte("version 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	id3, out := build()
	if got := h.take(); got["/one"] != 0 || got["/two"] != 1 || got["/three"] != 1 {
		t.Errorf("changed COPY source: fetched %v, want /two and /three only", got)
	}
	if id3 == id1 || strings.Count(out, "Using cache") != 1 {
		t.Errorf("changed COPY source: id %s (first %s); output:\n%s", id3, id1, out)
	}
	if got := r.mustDocker(nil, "run", "--rm", "cached", "cat", "/src.txt"); got != "version 2\n" {
		t.Errorf("image has src.txt %q", got)
	}
	build("--no-cache")
	if got := h.take(); got["/one"] != 1 || got["/two"] != 1 || got["/three"] != 1 {
		t.Errorf("--no-cache fetched %v, want each once", got)
	}
	r.mustDocker(nil, "builder", "prune", "-f")
	r.mustDocker(nil, "rmi", "cached")
	build()
	if got := h.take(); got["/one"] != 1 {
		t.Errorf("after builder prune fetched %v, want every step run again", got)
	}
	r.nothingLeft()
}
