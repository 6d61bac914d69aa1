package cli

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/moby/moby/api/types/container"
)

// fakeExecDocker serves the exec endpoints for container "c1": its exec
// writes "hi" and "oops" and exits 4.
type fakeExecDocker struct {
	mu       sync.Mutex
	created  container.ExecCreateRequest
	start    container.ExecStartRequest
	inspects int // container inspects
}

func (f *fakeExecDocker) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_ping", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Api-Version", "1.50")
		w.Write([]byte("OK"))
	})
	mux.HandleFunc("GET /{v}/containers/{id}/json", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.inspects++
		f.mu.Unlock()
		if r.PathValue("id") != "c1" {
			apiError(w, http.StatusNotFound, "No such container: "+r.PathValue("id"))
			return
		}
		json.NewEncoder(w).Encode(container.InspectResponse{ID: "c1", State: &container.State{Running: true}})
	})
	mux.HandleFunc("POST /{v}/containers/{id}/exec", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != "c1" {
			apiError(w, http.StatusNotFound, "No such container: "+r.PathValue("id"))
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		json.NewDecoder(r.Body).Decode(&f.created)
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte(`{"Id":"e1"}`))
	})
	mux.HandleFunc("POST /{v}/exec/e1/start", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		json.NewDecoder(r.Body).Decode(&f.start)
		detach := f.start.Detach
		f.mu.Unlock()
		if detach {
			return
		}
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		buf.WriteString("HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
		buf.Write(frame(1, "hi\n"))
		buf.Write(frame(2, "oops\n"))
		buf.Flush()
	})
	mux.HandleFunc("GET /{v}/exec/e1/json", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte(`{"ID":"e1","ContainerID":"c1","Running":false,"ExitCode":4}`))
	})
	return mux
}

func startFakeExecDocker(t *testing.T, f *fakeExecDocker) string {
	return serveAPI(t, f.handler())
}

func TestExecAttachedExitCode(t *testing.T) {
	f := &fakeExecDocker{}
	host := startFakeExecDocker(t, f)
	code, out, errOut := run(t, "-H", host, "exec", "-e", "A=b", "-w", "/tmp", "-u", "1:2", "c1", "sh", "-c", "echo hi")
	if code != 4 || out != "hi\n" || errOut != "oops\n" {
		t.Errorf("exec: code %d, stdout %q, stderr %q", code, out, errOut)
	}
	if f.inspects != 0 {
		t.Errorf("exec inspected the container %d times: the exec create says whether it exists", f.inspects)
	}
	c := f.created
	if strings.Join(c.Cmd, " ") != "sh -c echo hi" || c.WorkingDir != "/tmp" || c.User != "1:2" || len(c.Env) != 1 || c.Env[0] != "A=b" || !c.AttachStdout || !c.AttachStderr {
		t.Errorf("exec create = %+v", c)
	}
	if f.start.Detach || f.start.Tty {
		t.Errorf("exec start = %+v", f.start)
	}
}

func TestExecDetached(t *testing.T) {
	f := &fakeExecDocker{}
	host := startFakeExecDocker(t, f)
	code, out, errOut := run(t, "-H", host, "exec", "-d", "c1", "sleep", "5")
	if code != 0 || out != "" || !f.start.Detach || f.created.AttachStdout {
		t.Errorf("exec -d: code %d, stdout %q, stderr %q, start %+v", code, out, errOut, f.start)
	}
}

func TestExecUnknownContainer(t *testing.T) {
	host := startFakeExecDocker(t, &fakeExecDocker{})
	code, _, errOut := run(t, "-H", host, "exec", "nope", "true")
	if code == 0 || !strings.Contains(errOut, "No such container: nope") {
		t.Errorf("exec nope: code %d, stderr %q", code, errOut)
	}
}

// Docker says a container is missing before it says stdin is not a
// terminal: without the inspect of the hot path, the CLI asks only when
// the tty check fails.
func TestExecTTYCheckAfterMissingContainer(t *testing.T) {
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	saved := os.Stdin
	os.Stdin = null
	defer func() { os.Stdin = saved }()
	f := &fakeExecDocker{}
	host := startFakeExecDocker(t, f)
	code, _, errOut := run(t, "-H", host, "exec", "-it", "nope", "sh")
	if code == 0 || !strings.Contains(errOut, "No such container: nope") {
		t.Errorf("exec -it nope: code %d, stderr %q, want the missing container", code, errOut)
	}
	code, _, errOut = run(t, "-H", host, "exec", "-it", "c1", "sh")
	if code == 0 || !strings.Contains(errOut, errNotATTY.Error()) {
		t.Errorf("exec -it c1: code %d, stderr %q, want %q", code, errOut, errNotATTY)
	}
	if f.created.Cmd != nil {
		t.Errorf("an exec was created (%+v) though the tty check failed", f.created)
	}
}
