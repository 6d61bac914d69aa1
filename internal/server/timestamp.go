package server

import (
	"strconv"
	"strings"
	"time"

	"github.com/pier-engine/pier/internal/errdefs"
)

// parseTimestamp reads a since or until query value as the docker CLI
// sends it: Unix seconds with an optional fraction ("1700000000.5").
// The CLI turns durations and dates into this form before sending.
func parseTimestamp(v string) (time.Time, error) {
	sec, frac, _ := strings.Cut(v, ".")
	s, err := strconv.ParseInt(sec, 10, 64)
	var ns int64
	if err == nil && frac != "" {
		frac = (frac + "000000000")[:9]
		ns, err = strconv.ParseInt(frac, 10, 64)
	}
	if err != nil {
		return time.Time{}, errdefs.New(errdefs.ErrInvalidArgument, "invalid timestamp: "+v)
	}
	return time.Unix(s, ns), nil
}

// filterTime reads an until or since filter value as dockerd's
// GetTimestamp does: a Go duration back from now ("24h"), an RFC 3339
// date or date-time (local time when no zone is given), or Unix seconds.
func filterTime(v string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(v); err == nil {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, time.Local); err == nil {
			return t, nil
		}
	}
	return parseTimestamp(v)
}
