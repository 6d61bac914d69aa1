package cli

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// serveAPI serves h on a Unix socket for the test's life and returns the
// host to give -H. A cleanup the caller registers after it runs before the
// server closes (cleanups run last-in first-out), so a fake can free
// handlers that are still blocked.
func serveAPI(t *testing.T, h http.Handler) string {
	t.Helper()
	// Not t.TempDir: a socket path must fit in 108 bytes.
	dir, err := os.MkdirTemp("", "pier-cli-")
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "s")
	l, err := net.Listen("unix", sock)
	if err != nil {
		os.RemoveAll(dir)
		t.Fatal(err)
	}
	hs := &http.Server{Handler: h}
	go hs.Serve(l)
	t.Cleanup(func() {
		hs.Close()
		os.RemoveAll(dir)
	})
	return "unix://" + sock
}

var apiVersionPrefix = regexp.MustCompile(`^/v[0-9.]+`)

// unversioned strips the /vX.Y prefix of the client's paths, so a fake
// routes on the bare API paths.
func unversioned(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.URL.Path = apiVersionPrefix.ReplaceAllString(r.URL.Path, "")
		h.ServeHTTP(w, r)
	})
}
