package filter

import (
	"testing"
	"time"
)

func TestUntil(t *testing.T) {
	now := time.Date(2026, 12, 7, 20, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Time{
		"24h":                  now.Add(-24 * time.Hour),
		"2026-12-01T10:00:00Z": time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC),
		"1700000000":           time.Unix(1700000000, 0),
		"1700000000.5":         time.Unix(1700000000, 500000000),
	} {
		if got, err := Until(v, now); err != nil || !got.Equal(want) {
			t.Errorf("Until(%q) = %v, %v; want %v", v, got, err, want)
		}
	}
	for _, v := range []string{"", "yesterday", "12.x"} {
		if _, err := Until(v, now); err == nil {
			t.Errorf("Until(%q): no error", v)
		}
	}
}
