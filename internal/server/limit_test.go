package server

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestBodyLimit: a JSON body over MaxJSONBody is a 413 with a message,
// whether it declares its length or is chunked, and the server answers
// the next request; streaming routes are not capped.
func TestBodyLimit(t *testing.T) {
	var read int64
	s := &Server{log: slog.New(slog.DiscardHandler)}
	h := s.limitBody(s.handle(func(w http.ResponseWriter, r *http.Request) error {
		var v any
		if strings.HasSuffix(r.URL.Path, "/load") {
			n, err := io.Copy(io.Discard, r.Body)
			read = n
			return err
		}
		if err := json.NewDecoder(r.Body).Decode(&v); err != nil {
			return err
		}
		return writeJSON(w, http.StatusCreated, v)
	}), 1<<10)
	ts := httptest.NewServer(h)
	defer ts.Close()
	big := `{"a":"` + strings.Repeat("x", 2<<10) + `"}`
	for name, send := range map[string]func() (*http.Response, error){
		"declared": func() (*http.Response, error) {
			return http.Post(ts.URL+"/containers/create", "application/json", strings.NewReader(big))
		},
		"chunked": func() (*http.Response, error) {
			// An io.Reader of unknown length goes chunked.
			return http.Post(ts.URL+"/containers/create", "application/json", io.MultiReader(strings.NewReader(big)))
		},
	} {
		resp, err := send()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(b), "message") {
			t.Errorf("%s: %s %s", name, resp.Status, b)
		}
	}
	if resp, body := post(t, ts.URL+"/containers/create", `{"a":1}`); resp.StatusCode != http.StatusCreated {
		t.Errorf("small body after the refusals: %s %s", resp.Status, body)
	}
	resp, err := http.Post(ts.URL+"/images/load", "application/x-tar", strings.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || read != int64(len(big)) {
		t.Errorf("load (streaming) = %s, read %d of %d", resp.Status, read, len(big))
	}
}
