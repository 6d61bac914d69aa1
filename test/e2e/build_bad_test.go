package e2e_test

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tarOf makes a context tar from headers and contents.
func tarOf(t *testing.T, entries ...any) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i := 0; i < len(entries); i += 2 {
		hdr := entries[i].(*tar.Header)
		body, _ := entries[i+1].(string)
		if hdr.Typeflag == tar.TypeReg || hdr.Typeflag == 0 {
			hdr.Size = int64(len(body))
		}
		if hdr.Mode == 0 {
			hdr.Mode = 0o644
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// postBuild sends a context straight to POST /build.
func postBuild(ctx context.Context, d *pierd, body []byte, query url.Values) (*http.Response, error) {
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", d.sock)
	}}}
	req, err := http.NewRequestWithContext(ctx, "POST", "http://pierd/v1.41/build?"+query.Encode(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-tar")
	return c.Do(req)
}

// TestBuildBadInput: a syntax error names its line, a missing COPY
// source its path, a failing RUN its exit code; none leaves a container,
// mount, layer or context behind.
func TestBuildBadInput(t *testing.T) {
	r := newBuildRig(t)
	classic := []string{"DOCKER_BUILDKIT=0"}
	cases := []struct {
		name, dockerfile, want string
		code                   int
	}{
		{"syntax", "FROM busybox\nRUN true\nRUNN oops\n", "line 3: unknown instruction: RUNN", 1},
		{"copy", "FROM busybox\nCOPY missing.txt /x\n", "stat missing.txt: file does not exist", 1},
		{"run", "FROM busybox\nRUN echo partial > /p && exit 7\n", "The command '/bin/sh -c echo partial > /p && exit 7' returned a non-zero code: 7", 7},
		{"url", "FROM busybox\nADD http://127.0.0.1:1/x /x\n", "ADD http://127.0.0.1:1/x: Get \"http://127.0.0.1:1/x\": dial tcp 127.0.0.1:1: connect: connection refused", 1},
		{"image", "FROM no-such-image-here\n", "no-such-image-here", 1},
	}
	for _, c := range cases {
		ctx := writeContext(t, map[string]string{"Dockerfile": c.dockerfile})
		code, out, errs := r.docker("/usr/bin/docker", classic, "build", "-t", "bad-"+c.name, ctx)
		if code != c.code || !strings.Contains(errs, c.want) {
			t.Errorf("%s: build = %d (want %d)\nstdout: %s\nstderr: %s\nwant %q", c.name, code, c.code, out, errs, c.want)
		}
		if code, _, _ := r.docker("/usr/bin/docker", nil, "image", "inspect", "bad-"+c.name); code == 0 {
			t.Errorf("%s: the failed build left an image tagged", c.name)
		}
	}
	r.nothingLeft()
}

// TestBuildMaliciousContext: a context tar with "..", absolute names and
// a symlink out of the context touches nothing outside the build's own
// directories.
func TestBuildMaliciousContext(t *testing.T) {
	r := newBuildRig(t)
	outside := t.TempDir()
	tag := fmt.Sprintf("%d", time.Now().UnixNano())
	body := tarOf(t,
		&tar.Header{Name: "Dockerfile"}, "FROM busybox\nCOPY . /ctx\n",
		&tar.Header{Name: "../../escape-" + tag}, "x",
		&tar.Header{Name: "/abs-" + tag}, "x",
		&tar.Header{Name: "out", Typeflag: tar.TypeSymlink, Linkname: outside}, "",
		&tar.Header{Name: "out/pwned"}, "x",
	)
	resp, err := postBuild(context.Background(), r.d, body, url.Values{"t": {"evil"}})
	if err != nil {
		t.Fatal(err)
	}
	var stream bytes.Buffer
	stream.ReadFrom(resp.Body)
	resp.Body.Close()
	for _, p := range []string{
		filepath.Join(r.d.root, "escape-"+tag), filepath.Join(r.d.root, "build", "escape-"+tag),
		filepath.Join(filepath.Dir(r.d.root), "escape-"+tag), "/abs-" + tag, filepath.Join(outside, "pwned"),
	} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("the context wrote %s outside the build (stream: %s)", p, stream.String())
			os.Remove(p)
		}
	}
	r.nothingLeft()
}

// streamUntil reads a build's stream until it shows want.
func streamUntil(t *testing.T, resp *http.Response, want string) {
	t.Helper()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if strings.Contains(sc.Text(), want) {
			return
		}
	}
	t.Fatalf("build stream ended before %q: %v", want, sc.Err())
}

const napDockerfile = `FROM busybox
RUN echo first > /first
ARG NAP=0
RUN echo started-$NAP && sleep $NAP
`

// TestBuildClientGone: a client that disconnects mid-RUN cancels the
// build; its container goes.
func TestBuildClientGone(t *testing.T) {
	r := newBuildRig(t)
	body := tarOf(t, &tar.Header{Name: "Dockerfile"}, napDockerfile)
	ctx, cancel := context.WithCancel(context.Background())
	resp, err := postBuild(ctx, r.d, body, url.Values{"buildargs": {`{"NAP":"60"}`}})
	if err != nil {
		t.Fatal(err)
	}
	streamUntil(t, resp, "started-60")
	cancel()
	resp.Body.Close()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if out := r.mustDocker(nil, "ps", "-aq"); strings.TrimSpace(out) == "" {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	r.nothingLeft()
}

// TestBuildPierdKilled: kill -9 of pierd mid-build leaves no image and
// no build container once pierd is back, and the steps that completed
// are still cached.
func TestBuildPierdKilled(t *testing.T) {
	r := newBuildRig(t)
	dir := filepath.Dir(r.d.root)
	body := tarOf(t, &tar.Header{Name: "Dockerfile"}, napDockerfile)
	resp, err := postBuild(context.Background(), r.d, body, url.Values{"t": {"napped"}, "buildargs": {`{"NAP":"60"}`}})
	if err != nil {
		t.Fatal(err)
	}
	streamUntil(t, resp, "started-60")
	if err := r.d.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-r.d.done
	resp.Body.Close()
	r.d = startPierd(t, dir)
	if code, _, _ := r.docker("/usr/bin/docker", nil, "image", "inspect", "napped"); code == 0 {
		t.Errorf("a build killed mid-way left its image tagged")
	}
	ctxDir := writeContext(t, map[string]string{"Dockerfile": napDockerfile})
	out := r.mustDocker([]string{"DOCKER_BUILDKIT=0"}, "build", "-t", "napped", ctxDir)
	if !strings.Contains(out, "Step 2/4 : RUN echo first > /first\n ---> Using cache") {
		t.Errorf("the step before the kill is not cached any more:\n%s", out)
	}
	r.nothingLeft()
}

// TestCommitAndDiff: docker diff lists a container's changes; docker
// commit makes an image of them with --change, -m and -a.
func TestCommitAndDiff(t *testing.T) {
	r := newBuildRig(t)
	r.mustDocker(nil, "run", "--name", "changed", "busybox", "sh", "-c", "echo new > /new; rm /bin/vi; mkdir /dir")
	diff := r.mustDocker(nil, "diff", "changed")
	for _, want := range []string{"A /new\n", "D /bin/vi\n", "C /bin\n", "A /dir\n"} {
		if !strings.Contains(diff, want) {
			t.Errorf("docker diff lacks %q:\n%s", want, diff)
		}
	}
	if strings.Contains(diff, "/etc/hosts") || strings.Contains(diff, "/dev") {
		t.Errorf("docker diff shows the runtime's mount points:\n%s", diff)
	}
	r.mustDocker(nil, "commit", "-c", `CMD ["cat", "/new"]`, "-c", "ENV COMMITTED=yes", "-m", "a message", "-a", "someone", "changed", "committed:v1")
	if got := r.mustDocker(nil, "run", "--rm", "committed:v1"); got != "new\n" {
		t.Errorf("committed image runs %q", got)
	}
	got := r.mustDocker(nil, "image", "inspect", "-f", "{{.Author}}|{{.Comment}}|{{.Config.Env}}", "committed:v1")
	if !strings.Contains(got, "someone|a message|") || !strings.Contains(got, "COMMITTED=yes") {
		t.Errorf("committed image: %q", got)
	}
	if code, out, _ := r.docker("/usr/bin/docker", nil, "run", "--rm", "committed:v1", "ls", "/bin/vi"); code == 0 {
		t.Errorf("the deleted file is back in the commit: %s", out)
	}
	r.mustDocker(nil, "rm", "changed")
	r.nothingLeft()
}
