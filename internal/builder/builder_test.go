package builder

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/moby/api/types/container"

	"github.com/pier-engine/pier/internal/errdefs"
)

// fakeEngine is an Engine in memory: images are configs, containers
// record what they were asked to run, mounts are temp directories.
type fakeEngine struct {
	t  *testing.T
	mu sync.Mutex
	// Guarded by mu.
	images  map[string]*v1.ConfigFile
	tags    map[string]string
	live    map[string]string // container or mount id -> dir ("" for a RUN container)
	runs    [][]string        // the commands RUN steps ran
	envs    [][]string
	nextID  int
	exitFor map[string]int // a command containing the key exits with the value
}

func newFakeEngine(t *testing.T) *fakeEngine {
	base := &v1.ConfigFile{Architecture: "amd64", OS: "linux", Config: v1.Config{Cmd: []string{"sh"}},
		History: []v1.History{{Comment: "base"}}}
	return &fakeEngine{t: t, images: map[string]*v1.ConfigFile{"sha256:base": base}, tags: map[string]string{"busybox": "sha256:base"},
		live: map[string]string{}, exitFor: map[string]int{}}
}

func (e *fakeEngine) Image(ctx context.Context, ref string, pull bool, platform string) (string, *v1.ConfigFile, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if id, ok := e.tags[ref]; ok {
		ref = id
	}
	cfg, ok := e.images[ref]
	if !ok {
		return "", nil, fmt.Errorf("No such image: %s: %w", ref, errdefs.ErrNotFound)
	}
	return ref, cfg, nil
}

func (e *fakeEngine) Create(ctx context.Context, cfg *container.Config, host *container.HostConfig) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.nextID++
	id := fmt.Sprintf("ctr%d", e.nextID)
	e.live[id] = ""
	e.runs = append(e.runs, cfg.Cmd)
	e.envs = append(e.envs, cfg.Env)
	return id, nil
}

func (e *fakeEngine) Start(ctx context.Context, id string, stdout, stderr io.Writer) (int, error) {
	e.mu.Lock()
	cmd := strings.Join(e.runs[len(e.runs)-1], " ")
	e.mu.Unlock()
	fmt.Fprintf(stdout, "ran %s\n", cmd)
	for k, code := range e.exitFor {
		if strings.Contains(cmd, k) {
			return code, nil
		}
	}
	return 0, nil
}

func (e *fakeEngine) Mount(ctx context.Context, image string) (string, string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.nextID++
	id := fmt.Sprintf("mnt%d", e.nextID)
	dir := filepath.Join(e.t.TempDir(), id)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", "", err
	}
	e.live[id] = dir
	return id, dir, nil
}

func (e *fakeEngine) Commit(ctx context.Context, parent, ctr string, cfg *v1.ConfigFile) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	empty := ctr == ""
	if dir := e.live[ctr]; dir != "" {
		ents, _ := os.ReadDir(dir)
		empty = len(ents) == 0
	}
	if empty {
		cfg.History[len(cfg.History)-1].EmptyLayer = true
	}
	b, _ := json.Marshal(cfg)
	sum := sha256.Sum256(b)
	id := "sha256:" + hex.EncodeToString(sum[:])
	e.images[id] = cfg
	return id, nil
}

func (e *fakeEngine) Remove(ctx context.Context, id string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.live[id]; !ok {
		return fmt.Errorf("remove %s: %w", id, errdefs.ErrNotFound)
	}
	delete(e.live, id)
	return nil
}

func (e *fakeEngine) Tag(ctx context.Context, id, ref string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.tags[ref] = id
	return nil
}

func (e *fakeEngine) Fetch(ctx context.Context, url string, w io.Writer) (time.Time, error) {
	if strings.HasPrefix(url, "http://fake/") {
		_, err := io.WriteString(w, "fetched "+url)
		return time.Unix(1700000000, 0), err
	}
	return time.Time{}, fmt.Errorf("ADD %s: no network", url)
}

// contextTar makes a build context of name -> content.
func contextTar(t *testing.T, files map[string]string) io.Reader {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, content := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(content))
	}
	tw.Close()
	return &buf
}

type result struct {
	id  string
	out string
	cfg *v1.ConfigFile
	err error
}

func runBuild(t *testing.T, b *Builder, e *fakeEngine, files map[string]string, opts Options) result {
	t.Helper()
	var out bytes.Buffer
	opts.Out = &out
	opts.Remove = true
	id, err := b.Build(context.Background(), contextTar(t, files), opts)
	r := result{id: id, out: out.String(), err: err}
	if err == nil {
		r.cfg = e.images[id]
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.live) != 0 {
		t.Errorf("the build left containers or mounts: %v", e.live)
	}
	ents, _ := os.ReadDir(b.TmpDir())
	for _, ent := range ents {
		t.Errorf("the build left %s in its tmp", ent.Name())
	}
	return r
}

func newBuilder(t *testing.T) (*Builder, *fakeEngine) {
	e := newFakeEngine(t)
	b, err := New(e, t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	return b, e
}

func TestInstructionsShapeTheConfig(t *testing.T) {
	b, e := newBuilder(t)
	df := `ARG BASE=busybox
FROM $BASE AS first
ARG V=1
ENV HOME_DIR=/srv V=${V}
LABEL a=b "c d"=e
ENV P=80
EXPOSE $P 53/udp 9000-9001
USER nobody
VOLUME ["/data"]
STOPSIGNAL SIGINT
HEALTHCHECK --interval=5s CMD true
ONBUILD RUN echo later
SHELL ["/bin/bash", "-c"]
CMD echo $HOME_DIR
ENTRYPOINT ["/entry"]
`
	r := runBuild(t, b, e, map[string]string{"Dockerfile": df}, Options{BuildArgs: map[string]*string{"V": ptr("2")}, Tags: []string{"shaped"}})
	if r.err != nil {
		t.Fatal(r.err)
	}
	c := r.cfg.Config
	if got := strings.Join(c.Env, ","); got != "PATH="+defaultPath+",HOME_DIR=/srv,V=2,P=80" {
		t.Errorf("Env = %s", got)
	}
	if c.Labels["a"] != "b" || c.Labels["c d"] != "e" {
		t.Errorf("Labels = %v", c.Labels)
	}
	for _, p := range []string{"80/tcp", "53/udp", "9000/tcp", "9001/tcp"} {
		if _, ok := c.ExposedPorts[p]; !ok {
			t.Errorf("ExposedPorts %v lacks %s", c.ExposedPorts, p)
		}
	}
	if c.User != "nobody" || c.StopSignal != "SIGINT" || c.Volumes["/data"] != struct{}{} {
		t.Errorf("User %q StopSignal %q Volumes %v", c.User, c.StopSignal, c.Volumes)
	}
	if c.Healthcheck == nil || c.Healthcheck.Interval.String() != "5s" || strings.Join(c.Healthcheck.Test, " ") != "CMD-SHELL true" {
		t.Errorf("Healthcheck = %+v", c.Healthcheck)
	}
	// ENTRYPOINT after CMD keeps it; CMD's shell form used the SHELL.
	if strings.Join(c.Cmd, "|") != "/bin/bash|-c|echo $HOME_DIR" || strings.Join(c.Entrypoint, "|") != "/entry" {
		t.Errorf("Cmd %q Entrypoint %q", c.Cmd, c.Entrypoint)
	}
	if len(c.OnBuild) != 1 || c.OnBuild[0] != "RUN echo later" {
		t.Errorf("OnBuild = %q", c.OnBuild)
	}
	h := r.cfg.History
	if len(h) != 14 || h[0].Comment != "base" {
		t.Fatalf("history has %d entries: %+v", len(h), h)
	}
	for _, want := range []struct {
		i  int
		by string
	}{{1, "/bin/sh -c #(nop)  ARG V=1"}, {2, "/bin/sh -c #(nop)  ENV HOME_DIR=/srv V=2"},
		{5, "/bin/sh -c #(nop)  EXPOSE 80 53/udp 9000-9001"}, {7, "/bin/sh -c #(nop)  VOLUME [/data]"},
		{12, `/bin/bash -c #(nop)  CMD ["/bin/bash" "-c" "echo $HOME_DIR"]`}} {
		if h[want.i].CreatedBy != want.by || !h[want.i].EmptyLayer {
			t.Errorf("history[%d] = %q (empty %v), want %q", want.i, h[want.i].CreatedBy, h[want.i].EmptyLayer, want.by)
		}
	}
	if e.tags["shaped"] != r.id || !strings.Contains(r.out, "Successfully tagged shaped:latest") {
		t.Errorf("tag: %v; output:\n%s", e.tags, r.out)
	}
}

func ptr(s string) *string { return &s }

func TestRunAndCache(t *testing.T) {
	b, e := newBuilder(t)
	files := map[string]string{"Dockerfile": "FROM busybox\nARG A=x\nRUN echo $A\nCOPY f /f\nRUN echo after\n", "f": "1"}
	first := runBuild(t, b, e, files, Options{BuildArgs: map[string]*string{"A": ptr("y")}})
	if first.err != nil {
		t.Fatal(first.err)
	}
	if len(e.runs) != 2 || strings.Join(e.runs[0], " ") != "/bin/sh -c echo $A" {
		t.Fatalf("runs = %q", e.runs)
	}
	if !strings.Contains(strings.Join(e.envs[0], " "), "A=y") {
		t.Errorf("RUN env %q lacks the build arg", e.envs[0])
	}
	if h := first.cfg.History[2]; h.CreatedBy != "|1 A=y /bin/sh -c echo $A" {
		t.Errorf("RUN history = %+v", h)
	}
	if !strings.Contains(first.out, "Step 3/5 : RUN echo $A\n ---> Running in ctr") || !strings.Contains(first.out, "ran /bin/sh -c echo $A\n") {
		t.Errorf("output:\n%s", first.out)
	}
	again := runBuild(t, b, e, files, Options{BuildArgs: map[string]*string{"A": ptr("y")}})
	if again.id != first.id || len(e.runs) != 2 || strings.Count(again.out, "Using cache") != 4 {
		t.Errorf("rebuild: id %s (first %s), %d runs; output:\n%s", again.id, first.id, len(e.runs), again.out)
	}
	files["f"] = "2"
	changed := runBuild(t, b, e, files, Options{BuildArgs: map[string]*string{"A": ptr("y")}})
	if changed.id == first.id || len(e.runs) != 3 || strings.Count(changed.out, "Using cache") != 2 {
		t.Errorf("changed COPY source: %d runs; output:\n%s", len(e.runs), changed.out)
	}
	runBuild(t, b, e, files, Options{NoCache: true, BuildArgs: map[string]*string{"A": ptr("y")}})
	if len(e.runs) != 5 {
		t.Errorf("--no-cache ran %d RUNs in all, want 5", len(e.runs))
	}
}

func TestBadInput(t *testing.T) {
	b, e := newBuilder(t)
	e.exitFor["exit 3"] = 3
	for _, c := range []struct {
		df, want string
		exit     bool
	}{
		{"FROM busybox\nRUN true\nBOGUS x\n", "line 3", false},
		{"FROM busybox\nCOPY nope /x\n", "stat nope: file does not exist", false},
		{"FROM busybox\nRUN exit 3\n", "The command '/bin/sh -c exit 3' returned a non-zero code: 3", true},
		{"FROM busybox\nCOPY a b /x\n", "must be a directory and end with a /", false},
		{"FROM busybox\nADD https://example.com/x /x\n", "no network", false},
		{"FROM nothere\n", "No such image", false},
		{"FROM busybox\nRUN --mount=type=cache,target=/c true\n", "requires BuildKit", false},
	} {
		r := runBuild(t, b, e, map[string]string{"Dockerfile": c.df, "a": "", "b": ""}, Options{})
		if r.err == nil || !strings.Contains(r.err.Error(), c.want) {
			t.Errorf("%q: err %v, want %q", c.df, r.err, c.want)
			continue
		}
		var ee *ExitError
		if errors.As(r.err, &ee) != c.exit {
			t.Errorf("%q: ExitError %v", c.df, r.err)
		}
		if !c.exit && !errors.Is(r.err, errdefs.ErrInvalidArgument) && !errors.Is(r.err, errdefs.ErrNotFound) {
			t.Errorf("%q: error %v has no kind", c.df, r.err)
		}
	}
}

func TestCopyRules(t *testing.T) {
	b, e := newBuilder(t)
	files := map[string]string{
		"Dockerfile": "FROM busybox\nWORKDIR /w\nCOPY *.txt sub/ ./\nCOPY one.txt /renamed\n",
		"one.txt":    "1", "two.txt": "2", "sub/inner": "in", "ignored.log": "x",
		".dockerignore": "*.log\n",
	}
	r := runBuild(t, b, e, files, Options{})
	if r.err != nil {
		t.Fatalf("%v\n%s", r.err, r.out)
	}
	h := r.cfg.History
	if got := h[len(h)-2].CreatedBy; !strings.HasPrefix(got, "/bin/sh -c #(nop) COPY multi:") || !strings.HasSuffix(got, " in ./ ") {
		t.Errorf("COPY history %q", got)
	}
	if got := h[len(h)-1].CreatedBy; !strings.HasPrefix(got, "/bin/sh -c #(nop) COPY file:") {
		t.Errorf("COPY history %q", got)
	}
	if h[1].CreatedBy != "/bin/sh -c #(nop) WORKDIR /w" || h[1].EmptyLayer {
		t.Errorf("WORKDIR history %+v (it creates /w: not empty)", h[1])
	}
}

func TestApplyChanges(t *testing.T) {
	cfg := v1.Config{Cmd: []string{"sh"}, Env: []string{"A=1"}}
	if err := ApplyChanges(&cfg, []string{`CMD ["run"]`, "ENV A=2 B=3", "EXPOSE 80", "WORKDIR /x", "USER u"}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(cfg.Cmd, " ") != "run" || strings.Join(cfg.Env, " ") != "A=2 B=3" || cfg.WorkingDir != "/x" || cfg.User != "u" {
		t.Errorf("config after changes: %+v", cfg)
	}
	if err := ApplyChanges(&cfg, []string{"RUN rm -rf /"}); err == nil || !strings.Contains(err.Error(), "RUN is not a valid change command") {
		t.Errorf("RUN as a change: %v", err)
	}
}

func TestMaliciousContextStaysInside(t *testing.T) {
	b, e := newBuilder(t)
	outside := t.TempDir()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	df := "FROM busybox\nCOPY . /ctx\n"
	tw.WriteHeader(&tar.Header{Name: "Dockerfile", Mode: 0o644, Size: int64(len(df))})
	tw.Write([]byte(df))
	tw.WriteHeader(&tar.Header{Name: "link", Typeflag: tar.TypeSymlink, Linkname: outside})
	tw.WriteHeader(&tar.Header{Name: "link/pwned", Mode: 0o644, Size: 1})
	tw.Write([]byte("x"))
	tw.WriteHeader(&tar.Header{Name: "../../up", Mode: 0o644, Size: 1})
	tw.Write([]byte("x"))
	tw.Close()
	_, err := b.Build(context.Background(), &buf, Options{Out: io.Discard})
	_ = err // refusing or confining are both fine; escaping is not
	if _, err := os.Lstat(filepath.Join(outside, "pwned")); err == nil {
		t.Errorf("the context wrote through a symlink out of it")
	}
	if len(e.live) != 0 {
		t.Errorf("left %v", e.live)
	}
}

func TestCopyThroughAbsoluteSymlink(t *testing.T) {
	dst := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dst, "run"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dst, "var"), 0o755)
	if err := os.Symlink("/run", filepath.Join(dst, "var", "run")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/../../../../"+t.TempDir(), filepath.Join(dst, "out")); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	cp := &copier{dst: root}
	for in, want := range map[string]string{"var/run/x": "run/x", "var/run/../etc": "etc", "out/f": strings.TrimPrefix(filepath.Clean(cp.resolve("out")), "/") + "/f", ".": "."} {
		if got := cp.resolve(in); got != want {
			t.Errorf("resolve(%q) = %q, want %q", in, got, want)
		}
	}
	if got := cp.resolve("out"); strings.HasPrefix(got, "..") || path.IsAbs(got) {
		t.Errorf("resolve(out) = %q: out of the root", got)
	}
}

func TestAddURL(t *testing.T) {
	b, e := newBuilder(t)
	r := runBuild(t, b, e, map[string]string{"Dockerfile": "FROM busybox\nADD http://fake/dir/file.txt /d/\nCOPY . /ctx/\n"}, Options{})
	if r.err != nil {
		t.Fatalf("%v\n%s", r.err, r.out)
	}
	if got := r.cfg.History[1].CreatedBy; !strings.HasPrefix(got, "/bin/sh -c #(nop) ADD file:") || !strings.HasSuffix(got, " in /d/ ") {
		t.Errorf("ADD URL history %q", got)
	}
	r = runBuild(t, b, e, map[string]string{"Dockerfile": "FROM busybox\nADD http://fake/ /d/\n"}, Options{})
	if r.err == nil || !strings.Contains(r.err.Error(), "cannot determine filename from url") {
		t.Errorf("ADD of a URL without a file name into a directory: %v", r.err)
	}
}
