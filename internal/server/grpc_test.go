package server

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// fakeBuildKit echoes what the client sends after the upgrade.
type fakeBuildKit struct{}

func (fakeBuildKit) ServeGRPC(_ context.Context, conn net.Conn) error {
	_, err := io.Copy(conn, io.LimitReader(conn, 5))
	return err
}

func (fakeBuildKit) ServeSession(_ context.Context, w http.ResponseWriter, _ *http.Request) error {
	w.WriteHeader(http.StatusSwitchingProtocols)
	return nil
}

// TestBuilderVersion: /_ping says Builder-Version 2 only when BuildKit is
// served, so that clients never pick a BuildKit that is not there.
func TestBuilderVersion(t *testing.T) {
	without := newTestServer(&fakeBackend{})
	if v := do(t, without, "GET", "/_ping").Header().Get("Builder-Version"); v != "" {
		t.Errorf("without BuildKit: Builder-Version %q", v)
	}
	if code := do(t, without, "POST", "/grpc").Code; code != http.StatusNotFound {
		t.Errorf("without BuildKit: POST /grpc = %d, want 404", code)
	}
	with := New(Config{Backend: &fakeBackend{}, BuildKit: fakeBuildKit{}})
	for _, p := range []string{"/_ping", "/v1.44/_ping"} {
		if v := do(t, with, "GET", p).Header().Get("Builder-Version"); v != "2" {
			t.Errorf("with BuildKit: %s Builder-Version %q, want 2", p, v)
		}
	}
	if v := do(t, with, "GET", "/version").Header().Get("Builder-Version"); v != "" {
		t.Errorf("/version has Builder-Version %q", v)
	}
}

// TestGRPCUpgrade: /grpc answers 101 with Upgrade: h2c and hands the
// connection over; a request without the upgrade is refused.
func TestGRPCUpgrade(t *testing.T) {
	srv := httptest.NewServer(New(Config{Backend: &fakeBackend{}, BuildKit: fakeBuildKit{}}))
	defer srv.Close()
	if resp, err := http.Post(srv.URL+"/grpc", "", nil); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("POST /grpc without Upgrade = %d, want 400", resp.StatusCode)
	}
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "POST /v1.50/grpc HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Upgrade") != "h2c" {
		t.Fatalf("upgrade answer %d %v", resp.StatusCode, resp.Header)
	}
	if _, err := io.WriteString(conn, "hello"); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 5)
	if _, err := io.ReadFull(br, got); err != nil || string(got) != "hello" {
		t.Errorf("after the upgrade: %q, %v", got, err)
	}
}
