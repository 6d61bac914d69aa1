package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"

	"github.com/pier-engine/pier/internal/errdefs"
)

// fakeExecs is the container fake plus execs: container "c1" runs unless
// stopped; its one exec "e1" writes to both streams and exits 4.
type fakeExecs struct {
	*fakeContainers
	stopped  bool
	cfg      container.ExecCreateRequest
	detached bool
	started  bool
	tty      bool
	size     [2]uint
}

func (f *fakeExecs) ExecCreate(_ context.Context, ref string, cfg container.ExecCreateRequest) (string, error) {
	if err := f.find(ref); err != nil {
		return "", err
	}
	if f.stopped {
		return "", fmt.Errorf("container abc123 is not running: %w", errdefs.ErrConflict)
	}
	f.cfg = cfg
	return "e1", nil
}

func (f *fakeExecs) ExecStart(_ context.Context, id string, detach bool, stdin io.Reader, stdout, stderr io.Writer) error {
	if id != "e1" {
		return fmt.Errorf("No such exec instance: %s: %w", id, errdefs.ErrNotFound)
	}
	f.started, f.detached = true, detach
	if stdin != nil { // a cat: until the client's half-close
		if _, err := io.Copy(stdout, stdin); err != nil {
			return err
		}
	}
	if !detach {
		fmt.Fprint(stdout, "hi\n")
		fmt.Fprint(stderr, "oops\n")
	}
	return nil
}

func (f *fakeExecs) ExecInspect(_ context.Context, id string) (container.ExecInspectResponse, error) {
	if id != "e1" {
		return container.ExecInspectResponse{}, fmt.Errorf("No such exec instance: %s: %w", id, errdefs.ErrNotFound)
	}
	code := 4
	return container.ExecInspectResponse{ID: "e1", ContainerID: "abc123", ExitCode: &code, OpenStdout: true, OpenStderr: true,
		OpenStdin: f.tty, ProcessConfig: &container.ExecProcessConfig{Tty: f.tty}}, nil
}

func (f *fakeExecs) ExecResize(_ context.Context, id string, height, width uint) error {
	if id != "e1" {
		return fmt.Errorf("No such exec instance: %s: %w", id, errdefs.ErrNotFound)
	}
	f.size = [2]uint{height, width}
	return nil
}

func newExecServer(f *fakeExecs) *httptest.Server {
	return httptest.NewServer(New(Config{Backend: &fakeBackend{}, Containers: f, Exec: f, Version: "9.8.7"}))
}

func post(t *testing.T, url, body string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestExecCreateInspect(t *testing.T) {
	f := &fakeExecs{fakeContainers: &fakeContainers{}}
	ts := newExecServer(f)
	defer ts.Close()
	resp, body := post(t, ts.URL+"/v1.50/containers/c1/exec", `{"Cmd":["sh","-c","exit 4"],"Env":["A=b"],"WorkingDir":"/tmp","User":"1:2","AttachStdout":true}`)
	if resp.StatusCode != http.StatusCreated || !strings.Contains(body, `"Id":"e1"`) {
		t.Fatalf("create: %s %s", resp.Status, body)
	}
	if f.cfg.WorkingDir != "/tmp" || f.cfg.User != "1:2" || f.cfg.Env[0] != "A=b" || len(f.cfg.Cmd) != 3 {
		t.Errorf("backend got %+v", f.cfg)
	}
	get, err := http.Get(ts.URL + "/v1.50/exec/e1/json")
	if err != nil {
		t.Fatal(err)
	}
	defer get.Body.Close()
	var ins container.ExecInspectResponse
	if err := json.NewDecoder(get.Body).Decode(&ins); err != nil || ins.ExitCode == nil || *ins.ExitCode != 4 || ins.ContainerID != "abc123" {
		t.Errorf("inspect: %v %+v", err, ins)
	}
	for path, want := range map[string]int{
		"/v1.50/containers/nope/exec":   http.StatusNotFound,
		"/v1.50/exec/nope/start":        http.StatusNotFound,
		"/v1.50/exec/e1/resize?h=1&w=2": http.StatusOK,
		"/v1.50/exec/e1/resize?h=x&w=2": http.StatusBadRequest,
		"/v1.50/exec/no/resize?h=1&w=2": http.StatusNotFound,
	} {
		if resp, body := post(t, ts.URL+path, `{"Cmd":["true"]}`); resp.StatusCode != want {
			t.Errorf("%s: %s %s, want %d", path, resp.Status, body, want)
		}
	}
	if f.size != [2]uint{1, 2} {
		t.Errorf("resize gave the backend %v, want 1x2", f.size)
	}
	f.stopped = true
	if resp, body := post(t, ts.URL+"/v1.50/containers/c1/exec", `{"Cmd":["true"]}`); resp.StatusCode != http.StatusConflict || !strings.Contains(body, "is not running") {
		t.Errorf("exec in a stopped container: %s %s", resp.Status, body)
	}
}

func TestExecStartDetached(t *testing.T) {
	f := &fakeExecs{fakeContainers: &fakeContainers{}}
	ts := newExecServer(f)
	defer ts.Close()
	if resp, body := post(t, ts.URL+"/v1.50/exec/e1/start", `{"Detach":true}`); resp.StatusCode != http.StatusOK || !f.started || !f.detached {
		t.Errorf("detached start: %s %s, started %v detached %v", resp.Status, body, f.started, f.detached)
	}
}

func TestExecStartAttachedStreamsFrames(t *testing.T) {
	f := &fakeExecs{fakeContainers: &fakeContainers{}}
	ts := newExecServer(f)
	defer ts.Close()
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"Detach":false,"Tty":false}`
	fmt.Fprintf(conn, "POST /v1.50/exec/e1/start HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Content-Type") != "application/vnd.docker.multiplexed-stream" {
		t.Fatalf("exec start answered %s %v", resp.Status, resp.Header)
	}
	if got := strings.Join(frames(t, br), "|"); got != "1:hi\n|2:oops\n" || !f.started || f.detached {
		t.Errorf("exec frames = %q", got)
	}
}

// hijack sends a request that upgrades to tcp and returns the connection
// and the response.
func hijack(t *testing.T, ts *httptest.Server, path, body string) (*net.TCPConn, *bufio.Reader, *http.Response) {
	t.Helper()
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", path, len(body), body)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	return conn.(*net.TCPConn), br, resp
}

func TestExecStartTtyWithStdin(t *testing.T) {
	f := &fakeExecs{fakeContainers: &fakeContainers{}, tty: true}
	ts := newExecServer(f)
	defer ts.Close()
	conn, br, resp := hijack(t, ts, "/v1.50/exec/e1/start", `{"Tty":true}`)
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Content-Type") != "application/vnd.docker.raw-stream" {
		t.Fatalf("exec start answered %s %v", resp.Status, resp.Header)
	}
	conn.Write([]byte("typed "))
	conn.CloseWrite() // stdin's EOF
	out, _ := io.ReadAll(br)
	if string(out) != "typed hi\noops\n" {
		t.Errorf("raw stream %q, want the stdin echoed, then hi and oops unframed", out)
	}
}

// dockerd frames by the start body's Tty: a tty exec started with
// Tty:false (docker-py's exec_start) gets its output as stdout frames.
func TestExecStartFramesByTheStartBody(t *testing.T) {
	f := &fakeExecs{fakeContainers: &fakeContainers{}, tty: true}
	ts := newExecServer(f)
	defer ts.Close()
	conn, br, resp := hijack(t, ts, "/v1.50/exec/e1/start", `{"Tty":false}`)
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Content-Type") != "application/vnd.docker.multiplexed-stream" {
		t.Fatalf("exec start answered %s %v", resp.Status, resp.Header)
	}
	conn.CloseWrite()
	if got := strings.Join(frames(t, br), "|"); !strings.HasPrefix(got, "1:") {
		t.Errorf("frames = %q, want stdout frames", got)
	}
}
