package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// fakeAttach is the container fake plus AttachBackend: container "c1"
// echoes its stdin to stdout, then writes "bye" to stderr.
type fakeAttach struct {
	*fakeContainers
	detachKeys   string
	logs, stream bool
	size         [2]uint
}

func (f *fakeAttach) ContainerAttachStreams(_ context.Context, ref string, logs, stream bool, detachKeys string,
	streams func(tty bool) (io.Reader, io.Writer, io.Writer, error)) error {
	if err := f.find(ref); err != nil {
		return err
	}
	f.logs, f.stream, f.detachKeys = logs, stream, detachKeys
	stdin, stdout, stderr, err := streams(f.tty)
	if err != nil {
		return err
	}
	if stdin != nil {
		if _, err := io.Copy(stdout, stdin); err != nil {
			return err
		}
	}
	_, err = fmt.Fprint(stderr, "bye\n")
	return err
}

func (f *fakeAttach) ContainerResize(_ context.Context, ref string, height, width uint) error {
	if err := f.find(ref); err != nil {
		return err
	}
	f.size = [2]uint{height, width}
	return nil
}

func newAttachServer(f *fakeAttach) *httptest.Server {
	return httptest.NewServer(New(Config{Backend: &fakeBackend{}, Containers: f, Version: "9.8.7"}))
}

func TestAttachWithStdinFramesWithoutTty(t *testing.T) {
	f := &fakeAttach{fakeContainers: &fakeContainers{}}
	ts := newAttachServer(f)
	defer ts.Close()
	conn, br, resp := hijack(t, ts, "/v1.50/containers/c1/attach?stdin=1&stdout=1&stderr=1&stream=1&logs=1&detachKeys=ctrl-a", "")
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Content-Type") != "application/vnd.docker.multiplexed-stream" {
		t.Fatalf("attach answered %s %v", resp.Status, resp.Header)
	}
	conn.Write([]byte("typed\n"))
	conn.CloseWrite() // stdin's EOF
	if got := strings.Join(frames(t, br), "|"); got != "1:typed\n|2:bye\n" {
		t.Errorf("frames %q", got)
	}
	if !f.logs || !f.stream || f.detachKeys != "ctrl-a" {
		t.Errorf("backend got logs %v stream %v detachKeys %q", f.logs, f.stream, f.detachKeys)
	}
}

func TestAttachRawWithTty(t *testing.T) {
	f := &fakeAttach{fakeContainers: &fakeContainers{tty: true}}
	ts := newAttachServer(f)
	defer ts.Close()
	conn, br, resp := hijack(t, ts, "/v1.50/containers/c1/attach?stdin=1&stdout=1&stderr=1&stream=1", "")
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Content-Type") != "application/vnd.docker.raw-stream" {
		t.Fatalf("attach answered %s %v", resp.Status, resp.Header)
	}
	conn.Write([]byte("ls\r"))
	conn.CloseWrite()
	if out, _ := io.ReadAll(br); string(out) != "ls\rbye\n" {
		t.Errorf("raw stream %q", out)
	}
}

func TestAttachUnknownIs404BeforeHijack(t *testing.T) {
	ts := newAttachServer(&fakeAttach{fakeContainers: &fakeContainers{}})
	defer ts.Close()
	if resp, body := post(t, ts.URL+"/v1.50/containers/nope/attach?stream=1&stdout=1", ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("attach to an unknown container: %s %s", resp.Status, body)
	}
}

func TestContainerResize(t *testing.T) {
	f := &fakeAttach{fakeContainers: &fakeContainers{}}
	ts := newAttachServer(f)
	defer ts.Close()
	for path, want := range map[string]int{
		"/v1.50/containers/c1/resize?h=40&w=120": http.StatusOK,
		"/v1.50/containers/c1/resize?h=-1&w=2":   http.StatusBadRequest,
		"/v1.50/containers/nope/resize?h=1&w=2":  http.StatusNotFound,
	} {
		if resp, body := post(t, ts.URL+path, ""); resp.StatusCode != want {
			t.Errorf("%s: %s %s, want %d", path, resp.Status, body, want)
		}
	}
	if f.size != [2]uint{40, 120} {
		t.Errorf("backend got %v, want 40x120", f.size)
	}
}
