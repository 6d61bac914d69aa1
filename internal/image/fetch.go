package image

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/pier-engine/pier/internal/errdefs"
)

// Fetch downloads url into w, for a Dockerfile's ADD of a URL, and
// returns the file's Last-Modified time (zero when the server sent none).
func Fetch(ctx context.Context, url string, w io.Writer) (time.Time, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return time.Time{}, errdefs.Newf(errdefs.ErrInvalidArgument, "ADD %s: %v", url, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return time.Time{}, fmt.Errorf("ADD %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 {
		return time.Time{}, errdefs.Newf(errdefs.ErrInvalidArgument, "failed to GET %s with status %s", url, resp.Status)
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return time.Time{}, fmt.Errorf("ADD %s: %w", url, err)
	}
	var mtime time.Time
	if lm := resp.Header.Get("Last-Modified"); lm != "" {
		if t, err := http.ParseTime(lm); err == nil {
			mtime = t
		}
	}
	return mtime, nil
}
