package main

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// TestIdleTrim: no trim while a request is open, one trim after the last
// request ends, even with a session still open, and one more when that
// session ends.
func TestIdleTrim(t *testing.T) {
	var trims atomic.Int32
	tr := &idleTrim{after: 50 * time.Millisecond, trim: func() { trims.Add(1) }}
	release := make(chan struct{})
	started := make(chan struct{})
	h := tr.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/long" {
			close(started)
			<-release
		}
	}))
	go h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/long", nil))
	<-started
	session := make(chan struct{})
	go tr.wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-session })).
		ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/session", nil))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/du", nil))
	time.Sleep(200 * time.Millisecond)
	if n := trims.Load(); n != 0 {
		t.Fatalf("%d trims while a request was open", n)
	}
	close(release)
	deadline := time.Now().Add(2 * time.Second)
	for trims.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	if n := trims.Load(); n != 1 {
		t.Errorf("%d trims after the last request, want 1", n)
	}
	close(session)
	deadline = time.Now().Add(2 * time.Second)
	for trims.Load() == 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := trims.Load(); n != 2 {
		t.Errorf("%d trims after the session ended, want 2", n)
	}
}
