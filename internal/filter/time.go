package filter

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Until reads an until (or since, before) filter value as dockerd does: a
// duration back from now ("24h"), an RFC 3339 time, or the Unix time
// "seconds[.nanoseconds]" the docker CLI sends.
func Until(v string, now time.Time) (time.Time, error) {
	if dur, err := time.ParseDuration(v); err == nil {
		return now.Add(-dur), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if t, ok := unixTime(v); ok {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("invalid until %q: not a duration, RFC 3339 time or Unix time", v)
}

// unixTime reads "seconds[.nanoseconds]".
func unixTime(v string) (time.Time, bool) {
	sec, frac, _ := strings.Cut(v, ".")
	s, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	var ns int64
	if frac != "" {
		for len(frac) < 9 {
			frac += "0"
		}
		if ns, err = strconv.ParseInt(frac[:9], 10, 64); err != nil {
			return time.Time{}, false
		}
	}
	return time.Unix(s, ns), true
}
