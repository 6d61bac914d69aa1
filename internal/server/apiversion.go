package server

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/version"
)

const (
	// MaxAPIVersion is the API of Docker Engine 28.5; the docker clients
	// pier is tested with (28.2 speaks 1.50, Debian's 20.10 speaks 1.41)
	// negotiate down from here.
	MaxAPIVersion = version.APIVersion
	// MinAPIVersion is dockerd 28's default minimum, old enough for every
	// docker CLI still in a distribution.
	MinAPIVersion = "1.24"
)

// versionPrefix matches dockerd's route prefix /v{version:[0-9.]+}.
var versionPrefix = regexp.MustCompile(`^/v([0-9.]+)(/.*)$`)

// splitVersion returns the API version a request asks for (MaxAPIVersion
// when its path has no /vX.Y prefix) and the path without the prefix.
func splitVersion(path string) (version, rest string) {
	m := versionPrefix.FindStringSubmatch(path)
	if m == nil {
		return MaxAPIVersion, path
	}
	return m[1], m[2]
}

// checkVersion refuses versions outside [MinAPIVersion, MaxAPIVersion]
// with dockerd's words, which clients show to users as they are.
func checkVersion(v string) error {
	if compareVersions(v, MaxAPIVersion) > 0 {
		return errdefs.Newf(errdefs.ErrInvalidArgument, "client version %s is too new. Maximum supported API version is %s",
			v, MaxAPIVersion)
	}
	if compareVersions(v, MinAPIVersion) < 0 {
		return errdefs.Newf(errdefs.ErrInvalidArgument, "client version %s is too old. Minimum supported API version is %s, please upgrade your client to a newer version",
			v, MinAPIVersion)
	}
	return nil
}

// compareVersions orders dotted versions field by field as numbers
// ("1.9" < "1.24"); a missing or malformed field counts as 0.
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(as), len(bs)); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

// withVersion strips the version prefix, refuses unsupported versions and
// sets the headers dockerd sets on every response.
func (s *Server) withVersion(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Server", "pier/"+s.version+" (linux)")
		h.Set("API-Version", MaxAPIVersion)
		h.Set("OSType", "linux")
		version, rest := splitVersion(r.URL.Path)
		if err := checkVersion(version); err != nil {
			s.writeError(w, r, err)
			return
		}
		r2 := r.Clone(r.Context())
		r2.URL.Path = rest
		r2.URL.RawPath = ""
		next.ServeHTTP(w, r2)
	})
}
