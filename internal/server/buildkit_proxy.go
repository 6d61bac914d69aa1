package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/moby/moby/api/types/build"

	"github.com/pier-engine/pier/internal/errdefs"
)

// BuildKitProxy is pierd's BuildKit when it runs in pier-buildkitd: /grpc
// and /session are byte copies between the client and the child once
// both sides switched protocols, and a version-2 build is one request to
// the child. Dial opens a connection to the child, starting it if need
// be.
type BuildKitProxy struct {
	Dial func(ctx context.Context) (net.Conn, error)
}

// ServeGRPC switches a connection to the child to h2c and joins conn,
// which the client has switched already, to it.
func (p BuildKitProxy) ServeGRPC(ctx context.Context, conn net.Conn) error {
	up, err := p.Dial(ctx)
	if err != nil {
		return err
	}
	req, _ := http.NewRequest(http.MethodPost, "http://pier-buildkitd/grpc", nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "h2c")
	if err := req.Write(up); err != nil {
		up.Close()
		return fmt.Errorf("pier-buildkitd /grpc: %w", err)
	}
	br := bufio.NewReader(up)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		up.Close()
		return fmt.Errorf("pier-buildkitd /grpc: %w", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		up.Close()
		return fmt.Errorf("pier-buildkitd /grpc: %s", resp.Status)
	}
	splice(conn, bufferedConn(up, br))
	return nil
}

// ServeSession hands the client's request to the child as it came, then
// joins the two connections: the child's 101 and the session flow back.
func (p BuildKitProxy) ServeSession(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	up, err := p.Dial(ctx)
	if err != nil {
		return err
	}
	req, _ := http.NewRequest(http.MethodPost, "http://pier-buildkitd/session", nil)
	req.Header = r.Header.Clone()
	if err := req.Write(up); err != nil {
		up.Close()
		return fmt.Errorf("pier-buildkitd /session: %w", err)
	}
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		up.Close()
		return fmt.Errorf("hijack /session: %w", err)
	}
	splice(bufferedConn(conn, buf.Reader), up)
	return nil
}

// splice copies both ways until either side ends, then closes both.
func splice(a, b net.Conn) {
	var once sync.Once
	closeBoth := func() { a.Close(); b.Close() }
	done := make(chan struct{}, 2)
	for _, d := range [][2]net.Conn{{a, b}, {b, a}} {
		go func() {
			_, _ = io.Copy(d[0], d[1])
			once.Do(closeBoth)
			done <- struct{}{}
		}()
	}
	<-done
	<-done
}

// BuildV2 runs the build in the child and relays its trace.
func (p BuildKitProxy) BuildV2(ctx context.Context, req BuildKitRequest, trace func([]byte)) (string, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return "", fmt.Errorf("build request: %w", err)
	}
	resp, err := p.do(ctx, http.MethodPost, "/build", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	for {
		var f buildFrame
		if err := dec.Decode(&f); err != nil {
			return "", fmt.Errorf("pier-buildkitd build: %w", unexpectedEOF(err))
		}
		switch {
		case f.Error != "":
			return "", kindError(f.Kind, f.Error)
		case f.ID != "":
			return f.ID, nil
		case f.Trace != nil:
			trace(f.Trace)
		}
	}
}

// DiskUsage lists the child's cache records.
func (p BuildKitProxy) DiskUsage(ctx context.Context) ([]build.CacheRecord, error) {
	resp, err := p.do(ctx, http.MethodGet, "/du", nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var recs []build.CacheRecord
	if err := json.NewDecoder(resp.Body).Decode(&recs); err != nil {
		return nil, fmt.Errorf("pier-buildkitd disk usage: %w", err)
	}
	return recs, nil
}

// PruneCache prunes the child's cache.
func (p BuildKitProxy) PruneCache(ctx context.Context, all bool, keepStorage int64) ([]string, int64, error) {
	body, err := json.Marshal(pruneRequest{All: all, KeepStorage: keepStorage})
	if err != nil {
		return nil, 0, err
	}
	resp, err := p.do(ctx, http.MethodPost, "/prune", bytes.NewReader(body))
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	var out pruneResponse
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, 0, fmt.Errorf("pier-buildkitd prune: %w", err)
	}
	return out.IDs, out.Reclaimed, nil
}

// CancelBuild asks the child to stop build id; a child that cannot be
// reached has no build to stop.
func (p BuildKitProxy) CancelBuild(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if resp, err := p.do(ctx, http.MethodPost, "/cancel?id="+url.QueryEscape(id), nil); err == nil {
		resp.Body.Close()
	}
}

// do sends one request to the child on a connection of its own.
func (p BuildKitProxy) do(ctx context.Context, method, path string, body io.Reader) (*http.Response, error) {
	c := http.Client{Transport: &http.Transport{
		DialContext:       func(ctx context.Context, _, _ string) (net.Conn, error) { return p.Dial(ctx) },
		DisableKeepAlives: true,
	}}
	req, err := http.NewRequestWithContext(ctx, method, "http://pier-buildkitd"+path, body)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("pier-buildkitd %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent {
		defer resp.Body.Close()
		var e struct{ Message string }
		_ = json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&e)
		return nil, kindError(kindOfStatus(resp.StatusCode), fmt.Sprintf("pier-buildkitd %s: %s", path, e.Message))
	}
	return resp, nil
}

// kindError is msg with the errdefs kind named kind, if any.
func kindError(kind, msg string) error {
	for _, k := range errorKinds {
		if k.Error() == kind {
			return errdefs.New(k, msg)
		}
	}
	return errors.New(msg)
}

func kindOfStatus(status int) string {
	switch status {
	case http.StatusBadRequest:
		return errdefs.ErrInvalidArgument.Error()
	case http.StatusNotFound:
		return errdefs.ErrNotFound.Error()
	}
	return ""
}

// unexpectedEOF says that a stream ended before its last frame (the
// child died mid-build).
func unexpectedEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
