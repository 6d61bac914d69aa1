package cli

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/moby/moby/client"
	"github.com/moby/moby/client/pkg/versions"
)

// The pier CLI does not ask the daemon for its API version before its
// first request, as the docker CLI does (HEAD /_ping, one round trip per
// invocation): it speaks version.APIVersion, pierd's own, at once. Only a
// daemon that refuses that version (an older dockerd answers 400 "client
// version 1.51 is too new" with its own version in the API-Version
// header) costs more: the client then negotiates as before, with a ping,
// and the refused request goes again at the version agreed on. Every later
// request uses that version, since negotiating sets the client's. The
// version only moves down: a daemon that does not say its own leaves the
// CLI at pierd's. (Negotiating writes the client's version unguarded:
// it happens on the invocation's first request, which no verb makes
// alongside another.)
//
// A request whose body cannot be sent twice (a build context, an image
// archive on stdin) is preceded by the ping while no answer has confirmed
// the version yet, as it always was. Hijacked requests (attach, exec
// start) dial the daemon themselves and do not pass through here: the
// CLI never makes one as its first request. DOCKER_API_VERSION still pins
// the version and turns all of this off, as in docker.

// versionFallback is the client's transport while the API version is
// assumed rather than negotiated.
type versionFallback struct {
	base http.RoundTripper
	// api is the client this transport serves, set once client.New has
	// returned and before any request; negotiating updates its version.
	api *client.Client
	// confirmed is set by the first answer that did not refuse the
	// version, or by a negotiation: from then on requests pass through.
	confirmed atomic.Bool
}

func (t *versionFallback) RoundTrip(req *http.Request) (*http.Response, error) {
	loc := versionAt(req.URL.Path)
	if t.confirmed.Load() || loc == nil {
		// Negotiated, or an unversioned request (the ping itself).
		return t.base.RoundTrip(req)
	}
	asked := req.URL.Path[loc[2]:loc[3]]
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		// This body goes once: settle the version first. A failed ping
		// leaves the version as it is; the request's own answer says
		// more, as with the client's negotiation.
		_ = t.negotiate(req.Context(), "")
		return t.base.RoundTrip(t.at(req, asked, loc))
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	if resp.StatusCode != http.StatusBadRequest {
		t.confirmed.Store(true)
		return resp, nil
	}
	// A 400 is a refused version only if the daemon's own is older than
	// the one asked for; without the header (a daemon that does not set
	// it on errors), a ping tells.
	v := resp.Header.Get("Api-Version")
	if v != "" && !versions.LessThan(v, asked) {
		t.confirmed.Store(true)
		return resp, nil
	}
	if err := t.negotiate(req.Context(), v); err != nil || !versions.LessThan(t.api.ClientVersion(), asked) {
		return resp, nil // not a version the client can move down to: the daemon's answer stands
	}
	retry := t.at(req, asked, loc)
	if req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			return resp, nil
		}
		retry.Body = body
	}
	resp.Body.Close()
	return t.base.RoundTrip(retry)
}

// negotiate moves the client down to the daemon's version when it is
// older: daemon is that version if an answer said it already, else a ping
// asks. A daemon that does not say its version leaves the client where
// it is (the client's own negotiation would move it up to the newest
// version it knows).
func (t *versionFallback) negotiate(ctx context.Context, daemon string) error {
	if daemon == "" {
		ping, err := t.api.Ping(ctx, client.PingOptions{})
		if err != nil {
			return err
		}
		daemon = ping.APIVersion
	}
	if daemon != "" && versions.LessThan(daemon, t.api.ClientVersion()) {
		// The client's version moves only through its own negotiation,
		// which pings (again): paid by old daemons alone.
		if _, err := t.api.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true, ForceNegotiate: true}); err != nil {
			return err
		}
	}
	t.confirmed.Store(true)
	return nil
}

// at is req with the version asked for, at loc in its path, replaced by
// the client's current one.
func (t *versionFallback) at(req *http.Request, asked string, loc []int) *http.Request {
	now := t.api.ClientVersion()
	if now == asked {
		return req
	}
	r := req.Clone(req.Context())
	r.URL.Path = req.URL.Path[:loc[2]] + now + req.URL.Path[loc[3]:]
	r.URL.RawPath = ""
	return r
}

// versionAt finds the /vX.Y/ segment the client puts before each path
// (after the base path of a tcp:// host that has one) and returns, as a
// submatch index would, where its X.Y starts and ends; nil if there is
// none. (Not a regexp: the CLI compiles none before main.)
func versionAt(path string) []int {
	for i := 0; i+3 < len(path); i++ {
		if path[i] != '/' || path[i+1] != 'v' {
			continue
		}
		start := i + 2
		end := start + strings.IndexByte(path[start:], '/')
		if end > start && isAPIVersion(path[start:end]) {
			return []int{i, end + 1, start, end}
		}
	}
	return nil
}

// isAPIVersion reports whether s is digits, a dot, digits.
func isAPIVersion(s string) bool {
	major, minor, ok := strings.Cut(s, ".")
	return ok && isDigits(major) && isDigits(minor)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
