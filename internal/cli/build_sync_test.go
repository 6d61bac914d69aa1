package cli

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
)

// buildFake answers /build/context (when sync is set) asking for need,
// and /build, recording the files each build's tar carried and its
// X-Pier-Context header.
type buildFake struct {
	sync bool
	need []string
	mu   sync.Mutex
	// Guarded by mu.
	listing []syncFile
	sent    []string
	session string
}

func (f *buildFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := apiVersionPrefix.ReplaceAllString(r.URL.Path, "")
	switch {
	case p == "/build/context" && f.sync:
		var req struct{ Files []syncFile }
		json.NewDecoder(r.Body).Decode(&req)
		f.mu.Lock()
		f.listing = req.Files
		f.mu.Unlock()
		json.NewEncoder(w).Encode(syncReply{Session: "sess", Need: f.need})
	case p == "/build":
		tr := tar.NewReader(r.Body)
		var names []string
		for {
			hdr, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			names = append(names, hdr.Name)
		}
		f.mu.Lock()
		f.sent, f.session = names, r.Header.Get("X-Pier-Context")
		f.mu.Unlock()
		io.WriteString(w, `{"aux":{"ID":"sha256:abc"}}`+"\n")
	default:
		http.NotFound(w, r)
	}
}

func TestBuildSyncsContext(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string]string{"Dockerfile": "FROM busybox\n", "a.txt": "a", "sub/b.txt": "b", "skip.log": "x", ".dockerignore": "*.log\n"} {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755)
		os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644)
	}
	os.Symlink("a.txt", filepath.Join(dir, "link"))
	f := &buildFake{sync: true, need: []string{"sub/b.txt"}}
	host := serveAPI(t, f)
	if code, out, errs := run(t, "-H", host, "build", "-q", dir); code != 0 || strings.TrimSpace(out) != "sha256:abc" {
		t.Fatalf("pier build = %d %q %q", code, out, errs)
	}
	var listed []string
	for _, e := range f.listing {
		listed = append(listed, e.Path)
		if e.Path == "link" && (e.Mode&0o170000 != 0o120000 || e.Link != "a.txt") {
			t.Errorf("symlink listed as %+v", e)
		}
		if e.Path == "sub" && e.Mode&0o170000 != 0o040000 {
			t.Errorf("directory listed as %+v", e)
		}
	}
	sort.Strings(listed)
	if got := strings.Join(listed, ","); got != ".dockerignore,Dockerfile,a.txt,link,sub,sub/b.txt" {
		t.Errorf("listing %s (the ignored skip.log must be left out)", got)
	}
	if strings.Join(f.sent, ",") != "sub/b.txt" || f.session != "sess" {
		t.Errorf("build sent %q with session %q, want only what was asked for", f.sent, f.session)
	}

	// A daemon without the route gets the whole tar, as before.
	old := &buildFake{}
	if code, _, errs := run(t, "-H", serveAPI(t, old), "build", "-q", dir); code != 0 {
		t.Fatalf("fallback build = %d %q", code, errs)
	}
	sort.Strings(old.sent)
	if strings.Join(old.sent, ",") != ".dockerignore,Dockerfile,a.txt,link,sub/,sub/b.txt" || old.session != "" {
		t.Errorf("fallback sent %q (session %q)", old.sent, old.session)
	}
}
