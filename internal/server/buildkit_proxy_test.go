package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/moby/moby/api/types/build"

	"github.com/pier-engine/pier/internal/errdefs"
)

// fakeService is pier-buildkitd's BuildKit: it echoes five bytes after a
// switch, and records what it was asked.
type fakeService struct {
	mu        sync.Mutex
	sessionID string   // Guarded by mu.
	cancelled []string // Guarded by mu.
}

func (f *fakeService) ServeGRPC(_ context.Context, conn net.Conn) error {
	_, err := io.Copy(conn, io.LimitReader(conn, 5))
	return err
}

func (f *fakeService) ServeSession(_ context.Context, w http.ResponseWriter, r *http.Request) error {
	f.mu.Lock()
	f.sessionID = r.Header.Get("X-Docker-Expose-Session-Uuid")
	f.mu.Unlock()
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n"); err != nil {
		return err
	}
	_, err = io.Copy(conn, io.LimitReader(buf, 5))
	return err
}

func (f *fakeService) BuildV2(_ context.Context, req BuildKitRequest, trace func([]byte)) (string, error) {
	if req.Network == "bad" {
		return "", fmt.Errorf("network mode %q: %w", req.Network, errdefs.ErrInvalidArgument)
	}
	trace([]byte("step 1"))
	trace([]byte("step 2"))
	return "sha256:" + req.Tags[0], nil
}

func (f *fakeService) DiskUsage(context.Context) ([]build.CacheRecord, error) {
	return []build.CacheRecord{{ID: "r1", Size: 42}}, nil
}

func (f *fakeService) PruneCache(_ context.Context, all bool, keep int64) ([]string, int64, error) {
	if !all || keep != 7 {
		return nil, 0, errors.New("options lost")
	}
	return []string{"r1"}, 42, nil
}

func (f *fakeService) CancelBuild(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cancelled = append(f.cancelled, id)
}

// proxyRig is pierd's API with a BuildKitProxy to a child serving f.
func proxyRig(t *testing.T) (*fakeService, BuildKitProxy, *httptest.Server) {
	t.Helper()
	f := &fakeService{}
	child := httptest.NewServer(NewBuildKitHandler(f, nil))
	t.Cleanup(child.Close)
	p := BuildKitProxy{Dial: func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", strings.TrimPrefix(child.URL, "http://"))
	}}
	front := httptest.NewServer(New(Config{Backend: &fakeBackend{}, BuildKit: p}))
	t.Cleanup(front.Close)
	return f, p, front
}

// switched sends a raw upgrade request to the API and returns what comes
// back after the 101, having sent body once switched.
func switched(t *testing.T, front *httptest.Server, path, header, body string) string {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(front.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: pierd\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n%s\r\n", path, header)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("%s: %s", path, resp.Status)
	}
	io.WriteString(conn, body)
	got := make([]byte, len(body))
	if _, err := io.ReadFull(br, got); err != nil {
		t.Fatalf("%s: read after the switch: %v", path, err)
	}
	return string(got)
}

// TestProxySwitched: /grpc and /session reach the child's BuildKit
// through the proxy, headers and bytes intact.
func TestProxySwitched(t *testing.T) {
	f, _, front := proxyRig(t)
	if got := switched(t, front, "/v1.47/grpc", "", "hello"); got != "hello" {
		t.Errorf("/grpc echoed %q", got)
	}
	if got := switched(t, front, "/session", "X-Docker-Expose-Session-Uuid: s1\r\n", "world"); got != "world" {
		t.Errorf("/session echoed %q", got)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sessionID != "s1" {
		t.Errorf("session header reached the child as %q", f.sessionID)
	}
}

// TestProxyBuild: a version-2 build's trace and image id come back as
// dockerd sends them; an error keeps its kind across the socket.
func TestProxyBuild(t *testing.T) {
	_, p, front := proxyRig(t)
	resp, err := http.Post(front.URL+"/v1.41/build?version=2&session=s1&t=app", "application/x-tar", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	out := string(b)
	if strings.Count(out, `"moby.buildkit.trace"`) != 2 || !strings.Contains(out, `"moby.image.id"`) || !strings.Contains(out, "sha256:app") {
		t.Errorf("build stream:\n%s", out)
	}
	var traces []string
	id, err := p.BuildV2(context.Background(), BuildKitRequest{SessionID: "s", Tags: []string{"x"}}, func(b []byte) { traces = append(traces, string(b)) })
	if err != nil || id != "sha256:x" || strings.Join(traces, ",") != "step 1,step 2" {
		t.Errorf("BuildV2 = %q, %v; traces %q", id, err, traces)
	}
	_, err = p.BuildV2(context.Background(), BuildKitRequest{SessionID: "s", Network: "bad"}, func([]byte) {})
	if !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), `network mode "bad"`) {
		t.Errorf("BuildV2 with a bad network: %v, want the child's invalid-argument error", err)
	}
}

// TestProxyCache: disk usage, prune and cancel reach the child.
func TestProxyCache(t *testing.T) {
	f, p, _ := proxyRig(t)
	recs, err := p.DiskUsage(context.Background())
	if err != nil || len(recs) != 1 || recs[0].ID != "r1" || recs[0].Size != 42 {
		t.Errorf("DiskUsage = %+v, %v", recs, err)
	}
	ids, n, err := p.PruneCache(context.Background(), true, 7)
	if err != nil || len(ids) != 1 || n != 42 {
		t.Errorf("PruneCache = %v, %d, %v", ids, n, err)
	}
	p.CancelBuild("b 1")
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.cancelled) != 1 || f.cancelled[0] != "b 1" {
		t.Errorf("cancelled %q, want [b 1]", f.cancelled)
	}
}
