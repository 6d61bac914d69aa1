package server

import (
	"net/http"
	"testing"
)

func TestSwarmEndpointsAnswerAsDockerdOutsideASwarm(t *testing.T) {
	s := newTestServer(&fakeBackend{})
	for _, tc := range []struct{ method, path, want string }{
		{"POST", "/v1.41/swarm/leave?force=True", errNotInSwarm},
		{"GET", "/swarm", errNoSwarm},
		{"GET", "/v1.51/services", errNoSwarm},
		{"GET", "/nodes/abc", errNoSwarm},
		{"POST", "/secrets/create", errNoSwarm},
		{"POST", "/swarm/init", errSwarmNotHandled},
	} {
		rec := do(t, s, tc.method, tc.path)
		if rec.Code != http.StatusServiceUnavailable {
			t.Errorf("%s %s: status %d, want 503", tc.method, tc.path, rec.Code)
		}
		if got := decodeError(t, rec); got != tc.want {
			t.Errorf("%s %s: message %q, want %q", tc.method, tc.path, got, tc.want)
		}
	}
}
