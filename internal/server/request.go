package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/pier-engine/pier/internal/errdefs"
)

// Reading requests: bodies, query parameters and the API version, each
// as dockerd reads them.

// readJSON decodes a request body as dockerd does: no body is an empty
// request, another content type or malformed JSON is a bad request, and
// unknown fields are ignored (newer clients send fields older daemons lack).
func readJSON(r *http.Request, v any) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" && r.ContentLength == 0 {
		return nil
	}
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
		return errdefs.Newf(errdefs.ErrInvalidArgument, "unsupported Content-Type header (%s): must be 'application/json'", ct)
	}
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(v); errors.Is(err, io.EOF) {
		if r.ContentLength > 0 {
			return errdefs.New(errdefs.ErrInvalidArgument, "invalid JSON: got EOF while reading request body")
		}
		return nil // chunked and empty
	} else if err != nil {
		return fmt.Errorf("invalid JSON: %w: %w", err, errdefs.ErrInvalidArgument)
	}
	if dec.More() {
		return errdefs.New(errdefs.ErrInvalidArgument, "unexpected content after JSON")
	}
	return nil
}

// queryFilters decodes the "filters" query parameter. Clients send
// {"key": {"value": true}}; old ones sent {"key": ["value"]}, which dockerd
// still reads. Values come back sorted, so the result is deterministic.
// With allowed, other keys are refused, as dockerd refuses them where it
// knows every key; without, the backend checks them.
func queryFilters(r *http.Request, allowed ...string) (map[string][]string, error) {
	out := map[string][]string{}
	raw := r.URL.Query().Get("filters")
	if raw == "" {
		return out, nil
	}
	var sets map[string]map[string]bool
	var lists map[string][]string
	if err := json.Unmarshal([]byte(raw), &sets); err == nil {
		for k, set := range sets {
			for v := range set {
				out[k] = append(out[k], v)
			}
			slices.Sort(out[k])
		}
	} else if err := json.Unmarshal([]byte(raw), &lists); err == nil {
		for k, vals := range lists {
			out[k] = slices.Sorted(slices.Values(vals))
		}
	} else {
		return nil, fmt.Errorf("invalid filter %q: %w", raw, errdefs.ErrInvalidArgument)
	}
	if len(allowed) > 0 {
		for k := range out {
			if !slices.Contains(allowed, k) {
				return nil, errdefs.Newf(errdefs.ErrInvalidArgument, "invalid filter '%s'", k)
			}
		}
	}
	return out, nil
}

// boolQuery reads a boolean query parameter as dockerd's BoolValue does:
// absent, "", "0", "no", "false" and "none" are false, anything else true.
func boolQuery(r *http.Request, key string) bool {
	return boolValue(r.URL.Query().Get(key))
}

// boolValue is dockerd's BoolValue on one value.
func boolValue(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "0", "no", "false", "none":
		return false
	}
	return true
}

// timeoutQuery reads stop's and restart's t: seconds, or nil when absent.
func timeoutQuery(r *http.Request) (*int, error) {
	t := r.URL.Query().Get("t")
	if t == "" {
		return nil, nil
	}
	n, err := strconv.Atoi(t)
	if err != nil {
		return nil, errdefs.New(errdefs.ErrInvalidArgument, "invalid value for t: "+t)
	}
	return &n, nil
}

// sizeQuery reads resize's h and w.
func sizeQuery(r *http.Request) (uint, uint, error) {
	var out [2]uint
	for i, key := range []string{"h", "w"} {
		n, err := strconv.ParseUint(r.URL.Query().Get(key), 10, 16)
		if err != nil {
			return 0, 0, errdefs.Newf(errdefs.ErrInvalidArgument, "invalid %s: %s", key, err)
		}
		out[i] = uint(n)
	}
	return out[0], out[1], nil
}

// requestVersion is the API version the client asked for. withVersion has
// already stripped it from the path, but RequestURI keeps what was sent.
func requestVersion(r *http.Request) string {
	u, err := url.ParseRequestURI(r.RequestURI)
	if err != nil {
		return MaxAPIVersion
	}
	v, _ := splitVersion(u.Path)
	return v
}
