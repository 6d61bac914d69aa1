package e2e_test

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pier-engine/pier/internal/testutil"
)

var syncedMark = regexp.MustCompile(`build context synced: (\d+) linked, (\d+) received, (\d+) bytes`)

// syncMarks returns the (linked, received, bytes) of each synced
// context pierd's trace recorded, in order.
func syncMarks(t *testing.T, trace string) [][3]int {
	b, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	var out [][3]int
	for _, m := range syncedMark.FindAllStringSubmatch(string(b), -1) {
		var v [3]int
		for i := range v {
			v[i], _ = strconv.Atoi(m[i+1])
		}
		out = append(out, v)
	}
	return out
}

// TestBuildPierSynced: pier build keeps its context synced in pierd. A
// second build with no change sends no file and runs no RUN; a changed
// file is the only one sent and reruns exactly the steps after its COPY;
// a client that disconnects mid-sync leaves no generation behind and the
// current one intact; builder prune removes the synced contexts;
// PIER_BUILD_SYNC=0 sends the whole tar.
func TestBuildPierSynced(t *testing.T) {
	trace := filepath.Join(t.TempDir(), "trace")
	t.Setenv("PIER_TRACE", trace)
	r := newBuildRig(t)
	h := newHitCounter(t)
	pier := testutil.Binary(t, "pier")
	ctx := writeContext(t, map[string]string{
		"Dockerfile": fmt.Sprintf("FROM busybox\nRUN wget -q -O /one http://%[1]s/one\nCOPY src.txt /src.txt\nRUN wget -q -O /two http://%[1]s/two\nCOPY big /big\n", h.addr),
		"src.txt":    "version 1\n",
		"big":        strings.Repeat("0123456789abcdef", 64<<10), // 1 MiB
	})
	build := func(env ...string) string {
		t.Helper()
		cmd := exec.Command(pier, "-H", r.d.host, "build", "--network", "host", "-t", "synced", ctx)
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("pier build: %v\n%s\npierd:\n%s", err, out, r.d.stderr)
		}
		return string(out)
	}
	last := func() [3]int {
		m := syncMarks(t, trace)
		if len(m) == 0 {
			t.Fatal("pierd's trace has no synced context")
		}
		return m[len(m)-1]
	}
	size := int(1<<20) + len("version 1\n")
	build()
	df, _ := os.ReadFile(filepath.Join(ctx, "Dockerfile"))
	if got := last(); got != [3]int{0, 3, size + len(df)} {
		t.Errorf("first sync (linked, received, bytes) = %v, want every file", got)
	}
	if got := h.take(); got["/one"] != 1 || got["/two"] != 1 {
		t.Fatalf("first build fetched %v", got)
	}
	id1 := strings.TrimSpace(r.mustDocker(nil, "image", "inspect", "-f", "{{.Id}}", "synced"))

	out := build()
	if got := last(); got != [3]int{3, 0, 0} {
		t.Errorf("unchanged rebuild (linked, received, bytes) = %v, want nothing sent", got)
	}
	if got := h.take(); len(got) != 0 {
		t.Errorf("unchanged rebuild ran RUN steps: fetched %v", got)
	}
	id2 := strings.TrimSpace(r.mustDocker(nil, "image", "inspect", "-f", "{{.Id}}", "synced"))
	if id2 != id1 || strings.Count(out, "Using cache") != 4 {
		t.Errorf("unchanged rebuild: id %s (first %s)\n%s", id2, id1, out)
	}

	if err := os.WriteFile(filepath.Join(ctx, "src.txt"), []byte("version 22\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out = build()
	if got := last(); got != [3]int{2, 1, len("version 22\n")} {
		t.Errorf("one changed file (linked, received, bytes) = %v, want src.txt alone", got)
	}
	if got := h.take(); got["/one"] != 0 || got["/two"] != 1 {
		t.Errorf("changed COPY source fetched %v, want /two alone", got)
	}
	if strings.Count(out, "Using cache") != 1 {
		t.Errorf("changed COPY source: want the RUN before it cached only\n%s", out)
	}
	if got := r.mustDocker(nil, "run", "--rm", "synced", "cat", "/src.txt"); got != "version 22\n" {
		t.Errorf("image has src.txt %q", got)
	}

	// A client gone mid-sync: its generation is removed, the current one
	// stays (the next build sends nothing).
	gensBefore := syncedGens(t, r)
	cutSync(t, r.d.sock, ctx)
	deadline := time.Now().Add(10 * time.Second)
	for len(syncedGens(t, r)) != len(gensBefore) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if got := syncedGens(t, r); strings.Join(got, ",") != strings.Join(gensBefore, ",") {
		t.Errorf("after a cut sync generations are %v, want %v", got, gensBefore)
	}
	build()
	if got := last(); got != [3]int{3, 0, 0} {
		t.Errorf("after a cut sync (linked, received, bytes) = %v, want nothing sent", got)
	}

	marks := len(syncMarks(t, trace))
	build("PIER_BUILD_SYNC=0")
	if len(syncMarks(t, trace)) != marks {
		t.Error("PIER_BUILD_SYNC=0 still synced")
	}
	r.mustDocker(nil, "builder", "prune", "-f")
	if got := syncedGens(t, r); len(got) != 0 {
		t.Errorf("builder prune left synced contexts %v", got)
	}
	r.mustDocker(nil, "rmi", "synced")
	r.nothingLeft()
}

func syncedGens(t *testing.T, r *buildRig) []string {
	ents, err := os.ReadDir(filepath.Join(r.d.root, "build", "contexts"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// cutSync lists dir's big file as changed under pier's own key, then
// sends part of it and hangs up.
func cutSync(t *testing.T, sock, dir string) {
	t.Helper()
	host, _ := os.Hostname()
	key := sha256.Sum256([]byte(host + "\x00" + dir))
	listing, _ := json.Marshal(map[string]any{"key": hex.EncodeToString(key[:]), "files": []map[string]any{
		{"path": "Dockerfile", "mode": 0o100644, "size": 20, "mtime": 1},
		{"path": "big", "mode": 0o100644, "size": 1 << 20, "mtime": 2},
	}})
	hc := &http.Client{Transport: &http.Transport{DialContext: func(context.Context, string, string) (net.Conn, error) {
		return net.Dial("unix", sock)
	}}}
	resp, err := hc.Post("http://pierd/build/context", "application/json", bytes.NewReader(listing))
	if err != nil {
		t.Fatal(err)
	}
	var reply struct {
		Session string
		Need    []string
	}
	json.NewDecoder(resp.Body).Decode(&reply)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(reply.Need) != 2 {
		t.Fatalf("POST /build/context = %d, %+v", resp.StatusCode, reply)
	}
	conn, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	// A whole Dockerfile entry, then part of big.
	var body bytes.Buffer
	tw := tar.NewWriter(&body)
	for _, f := range []struct {
		name string
		data []byte
	}{{"Dockerfile", []byte("FROM busybox\nRUN x\n\n")}, {"big", bytes.Repeat([]byte("z"), 1<<20)}} {
		tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), Typeflag: tar.TypeReg})
		tw.Write(f.data)
	}
	tw.Close()
	w := bufio.NewWriter(conn)
	fmt.Fprintf(w, "POST /build?t=cut HTTP/1.1\r\nHost: pierd\r\nContent-Type: application/x-tar\r\nX-Pier-Context: %s\r\nContent-Length: %d\r\n\r\n", reply.Session, body.Len())
	w.Write(body.Bytes()[:body.Len()/3])
	w.Flush()
	time.Sleep(200 * time.Millisecond)
	conn.Close()
}
