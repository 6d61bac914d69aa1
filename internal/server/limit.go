package server

import (
	"errors"
	"net/http"
	"strings"

	"github.com/pier-engine/pier/internal/errdefs"
)

// MaxJSONBody caps the body of every request but the streaming ones: the
// API's JSON bodies (container create, exec, network and volume create)
// are a few KiB; 10 MiB leaves room for large ones without letting a
// client make pierd buffer without end.
const MaxJSONBody = 10 << 20

// streamsBody reports whether the route of r takes an unbounded stream
// as its body: a build context, an image tar, a rootfs tar, an archive
// to extract, or the stdin of attach and exec (hijacked, not read through
// r.Body, but left uncapped so nothing cuts it).
func streamsBody(r *http.Request) bool {
	p := r.URL.Path // withVersion took the /v1.NN off
	switch {
	case p == "/build", p == "/images/load", p == "/session", p == "/grpc":
		return true
	case p == "/images/create": // fromSrc=- imports the body
		return true
	case strings.HasPrefix(p, "/containers/") &&
		(strings.HasSuffix(p, "/archive") || strings.HasSuffix(p, "/attach")):
		return true
	case strings.HasPrefix(p, "/exec/") && strings.HasSuffix(p, "/start"):
		return true
	}
	return false
}

// limitBody caps the bodies of requests that do not stream at max bytes.
// A body that declares a larger Content-Length is refused before the
// handler runs; a chunked one is cut at the limit, and the handler's read
// error becomes the same 413 (StatusOf), so pierd goes on serving.
func (s *Server) limitBody(next http.Handler, max int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody || streamsBody(r) {
			next.ServeHTTP(w, r)
			return
		}
		if r.ContentLength > max {
			// The body is not read: ask net/http to close the connection
			// rather than drain what the client may still be sending.
			w.Header().Set("Connection", "close")
			s.writeError(w, r, errdefs.Newf(errdefs.ErrTooLarge,
				"request body of %d bytes exceeds the limit of %d bytes", r.ContentLength, max))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, max)
		next.ServeHTTP(w, r)
	})
}

// isMaxBytes reports whether err comes from a body cut by limitBody.
func isMaxBytes(err error) bool {
	var mb *http.MaxBytesError
	return errors.As(err, &mb)
}
