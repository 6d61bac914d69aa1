package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pier-engine/pier/internal/testutil"
)

// TestPierdKilledMidOperation kills pierd with SIGKILL while it creates
// containers, pulls an image from a local registry and removes
// containers, each under a steady stream of requests so that the kill
// lands inside one. The next pierd must start clean: every container
// directory and writable layer belongs to a container it lists, and
// every container it lists has both; no ingest, unpack or atomic-write
// temp file is left; and creating, pulling, running and removing work.
func TestPierdKilledMidOperation(t *testing.T) {
	testutil.RequiresRoot(t)
	testutil.Requires(t, "busybox", "overlay", "docker-registry")
	testutil.CheckLeaks(t)
	dir := shortDir(t)
	d := startPierd(t, dir)
	pier := testutil.Binary(t, "pier")
	ref := testutil.StartRegistry(t, testutil.Registry{}) + "/crash/busybox:t"
	mustRun(t, pier, "-H", d.host, "tag", "busybox", ref)
	mustRun(t, pier, "-H", d.host, "push", ref)
	mustRun(t, pier, "-H", d.host, "rmi", ref)

	swept := 0
	// crash runs op in four loops until ready says pierd is in the
	// middle of it (or 5 s pass), then kills pierd and starts another.
	crash := func(what string, ready func() bool, op func(c *http.Client, stop <-chan struct{})) {
		c := apiClient(d.sock)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() { op(c, stop) })
		}
		for end := time.Now().Add(5 * time.Second); !ready() && time.Now().Before(end); {
			time.Sleep(time.Millisecond)
		}
		if err := d.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		<-d.done
		close(stop)
		wg.Wait()
		d = startPierd(t, dir)
		n := strings.Count(d.stderr.String(), "sweep: removed")
		swept += n
		t.Logf("kill -9 mid-%s: the next start swept %d things", what, n)
		checkClean(t, d, pier)
	}

	// Mid-pull: while a blob is being written or a layer unpacked.
	ingesting := func() bool {
		for _, tmp := range []string{"ingest", "snapshots/tmp"} {
			if ents, _ := os.ReadDir(filepath.Join(d.root, "image", tmp)); len(ents) > 0 {
				return true
			}
		}
		return false
	}
	ctrDirs := func() int {
		ents, _ := os.ReadDir(filepath.Join(d.root, "containers"))
		return len(ents)
	}
	crash("create", func() bool { return ctrDirs() >= 8 }, func(c *http.Client, stop <-chan struct{}) {
		for !stopped(stop) {
			apiCall(c, "POST", "/containers/create", `{"Image":"busybox","Cmd":["true"],"HostConfig":{"NetworkMode":"none"}}`)
		}
	})
	crash("pull", ingesting, func(c *http.Client, stop <-chan struct{}) {
		for !stopped(stop) {
			apiCall(c, "POST", "/images/create?fromImage="+strings.TrimSuffix(ref, ":t")+"&tag=t", "")
			apiCall(c, "DELETE", "/images/"+ref+"?force=1", "")
		}
	})
	var ids []string
	for range 40 {
		ids = append(ids, strings.TrimSpace(mustRun(t, pier, "-H", d.host, "create", "--network", "none", "busybox", "true")))
	}
	var next sync.Mutex
	before := ctrDirs()
	crash("rm", func() bool { return ctrDirs() <= before-8 }, func(c *http.Client, stop <-chan struct{}) {
		for !stopped(stop) {
			next.Lock()
			if len(ids) == 0 {
				next.Unlock()
				return
			}
			id := ids[0]
			ids = ids[1:]
			next.Unlock()
			apiCall(c, "DELETE", "/containers/"+id+"?force=1", "")
		}
	})
	// The pull must work after all, and the image run.
	mustRun(t, pier, "-H", d.host, "pull", ref)
	if out := mustRun(t, pier, "-H", d.host, "run", "--rm", "--network", "none", ref, "echo", "alive"); out != "alive\n" {
		t.Errorf("run after the crashes printed %q", out)
	}
	t.Logf("the three restarts swept %d things in all", swept)
	removeAll(t, pier, d.host)
}

// checkClean compares what pierd lists with what its root holds, then
// creates, starts and removes a container.
func checkClean(t *testing.T, d *pierd, pier string) {
	t.Helper()
	listed := map[string]bool{}
	for _, id := range strings.Fields(mustRun(t, pier, "-H", d.host, "ps", "-a", "-q", "--no-trunc")) {
		listed[id] = true
	}
	hex64 := regexp.MustCompile(`^[0-9a-f]{64}$`)
	names := func(p string) []string {
		ents, _ := os.ReadDir(p)
		var out []string
		for _, e := range ents {
			out = append(out, e.Name())
		}
		return out
	}
	for _, id := range names(filepath.Join(d.root, "containers")) {
		if hex64.MatchString(id) && !listed[id] {
			t.Errorf("container directory %s without a container", id)
		}
	}
	for _, id := range names(filepath.Join(d.root, "image", "snapshots", "active")) {
		if hex64.MatchString(id) && !listed[id] {
			t.Errorf("writable layer %s without a container", id)
		}
	}
	for id := range listed {
		for _, p := range []string{filepath.Join(d.root, "containers", id, "bundle", "config.json"),
			filepath.Join(d.root, "image", "snapshots", "active", id)} {
			if _, err := os.Stat(p); err != nil {
				t.Errorf("listed container %s is half-made: %v", id, err)
			}
		}
	}
	for _, tmp := range []string{"ingest", "snapshots/tmp"} {
		if left := names(filepath.Join(d.root, "image", tmp)); len(left) > 0 {
			t.Errorf("image/%s holds %v after the start", tmp, left)
		}
	}
	filepath.WalkDir(filepath.Join(d.root, "containers"), func(p string, e os.DirEntry, err error) error {
		if err == nil && e.IsDir() && e.Name() == "rootfs" {
			return filepath.SkipDir
		}
		if err == nil && strings.HasPrefix(e.Name(), ".tmp-") {
			t.Errorf("atomic-write temp file left: %s", p)
		}
		return nil
	})
	id := strings.TrimSpace(mustRun(t, pier, "-H", d.host, "create", "--network", "none", "busybox", "echo", "ok"))
	if out := mustRun(t, pier, "-H", d.host, "start", "-a", id); out != "ok\n" {
		t.Errorf("start after the crash printed %q", out)
	}
	mustRun(t, pier, "-H", d.host, "rm", id)
}

func removeAll(t *testing.T, pier, host string) {
	ids := strings.Fields(mustRun(t, pier, "-H", host, "ps", "-a", "-q"))
	if len(ids) > 0 {
		mustRun(t, pier, append([]string{"-H", host, "rm", "-f"}, ids...)...)
	}
}

func stopped(stop <-chan struct{}) bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}

// apiClient talks to pierd's socket; requests fail fast once it is gone.
func apiClient(sock string) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		},
	}}
}

// apiCall sends one request and reads the whole answer (a pull's stream
// included); errors are expected while pierd is killed.
func apiCall(c *http.Client, method, path, body string) int {
	req, err := http.NewRequest(method, "http://pierd"+path, bytes.NewReader([]byte(body)))
	if err != nil {
		return 0
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		time.Sleep(10 * time.Millisecond)
		return 0
	}
	defer resp.Body.Close()
	var v any
	if json.NewDecoder(resp.Body).Decode(&v) == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
	}
	return resp.StatusCode
}
