package logfile

import (
	"errors"
	"strings"
	"testing"

	"github.com/pier-engine/pier/internal/errdefs"
)

func TestParseOptions(t *testing.T) {
	for _, tc := range []struct {
		in   map[string]string
		want Options
	}{
		{nil, Options{}},
		{map[string]string{"max-size": "10m", "max-file": "3"}, Options{MaxSize: 10 << 20, MaxFiles: 3}},
		{map[string]string{"max-size": "1g"}, Options{MaxSize: 1 << 30}},
		{map[string]string{"max-size": "500k"}, Options{MaxSize: 500 << 10}},
		{map[string]string{"max-size": "20MiB"}, Options{MaxSize: 20 << 20}},
		{map[string]string{"max-size": "1.5k"}, Options{MaxSize: 1536}},
		{map[string]string{"max-size": "4096"}, Options{MaxSize: 4096}},
		{map[string]string{"max-size": "-1"}, Options{MaxSize: -1}},
		{map[string]string{"compress": "false"}, Options{}},
	} {
		got, err := ParseOptions(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseOptions(%v) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseOptionsErrorsNameTheOption(t *testing.T) {
	for _, tc := range []struct {
		key, val string
	}{
		{"max-size", "10x"},
		{"max-size", "0"},
		{"max-size", "inf"},
		{"max-size", ""},
		{"max-file", "0"},
		{"max-file", "three"},
		{"compress", "maybe"},
		{"labels", "a,b"},
		{"mode", "non-blocking"},
	} {
		_, err := ParseOptions(map[string]string{tc.key: tc.val})
		if err == nil {
			t.Errorf("%s=%q: no error", tc.key, tc.val)
			continue
		}
		if !strings.Contains(err.Error(), tc.key) || !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("%s=%q: error %q does not name the option or is not invalid-argument", tc.key, tc.val, err)
		}
	}
}

func TestOpenRefusesCompress(t *testing.T) {
	_, err := Open(t.TempDir()+"/log", Options{Compress: true})
	if !errors.Is(err, errdefs.ErrNotImplemented) {
		t.Fatalf("Open with Compress: %v, want not implemented", err)
	}
}
