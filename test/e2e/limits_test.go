package e2e_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pier-engine/pier/internal/testutil"
)

// TestBodyLimitAndExecRecords: an 11 MiB JSON body is a 413 with a
// message and pierd goes on serving; an exec record answers after its
// process exited, and is gone with its container.
func TestBodyLimitAndExecRecords(t *testing.T) {
	d := newPierd(t, "busybox")
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", d.sock)
		},
	}}
	big := `{"Image":"busybox","Labels":{"x":"` + strings.Repeat("x", 11<<20) + `"}}`
	for _, chunked := range []bool{false, true} {
		var body io.Reader = strings.NewReader(big)
		if chunked {
			body = io.MultiReader(body) // unknown length: sent chunked
		}
		resp, err := c.Post("http://pierd/v1.43/containers/create", "application/json", body)
		if err != nil {
			t.Fatalf("oversized create (chunked %v): %v", chunked, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(b), "message") {
			t.Errorf("oversized create (chunked %v) = %s %s", chunked, resp.Status, b)
		}
		if resp, err := d.get("/_ping"); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("pierd after an oversized body: %v", err)
		}
	}
	pier := testutil.Binary(t, "pier")
	mustRun(t, pier, "-H", d.host, "run", "-d", "--name", "ex", "busybox", "sleep", "60")
	code, _, _ := run(t, dockers[0], "-H", d.host, "exec", "ex", "sh", "-c", "exit 3")
	if code != 3 {
		t.Errorf("docker exec exit code %d, want 3", code)
	}
	// The API's way, keeping the exec id.
	post := func(path, body string) (int, string) { return d.apiPost(t, path, nil, body) }
	status, out := post("/v1.43/containers/ex/exec", `{"Cmd":["true"]}`)
	if status != http.StatusCreated {
		t.Fatalf("exec create = %d %s", status, out)
	}
	id := strings.Split(strings.Split(out, `"Id":"`)[1], `"`)[0]
	if status, out := post("/v1.43/exec/"+id+"/start", `{"Detach":false}`); status != http.StatusOK {
		t.Fatalf("exec start = %d %s", status, out)
	}
	inspect := func() int {
		resp, err := d.get("/v1.43/exec/" + id + "/json")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := inspect(); s != http.StatusOK {
		t.Errorf("inspect of an exited exec = %d", s)
	}
	if s := inspect(); s != http.StatusOK {
		t.Errorf("second inspect of an exited exec = %d (kept for a while)", s)
	}
	mustRun(t, pier, "-H", d.host, "rm", "-f", "ex")
	if s := inspect(); s != http.StatusNotFound {
		t.Errorf("inspect of an exec whose container is gone = %d, want 404", s)
	}
}
