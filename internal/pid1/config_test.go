package pid1

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func TestParseArgs(t *testing.T) {
	tests := []struct {
		in    []string
		want  Config
		error bool
	}{
		{in: []string{"sleep", "1"}, want: Config{Args: []string{"sleep", "1"}, Grace: DefaultGrace}},
		{in: []string{"--", "-weird", "-g"}, want: Config{Args: []string{"-weird", "-g"}, Grace: DefaultGrace}},
		{in: []string{"-g", "sh", "-c", "x"}, want: Config{Args: []string{"sh", "-c", "x"}, Group: true, Grace: DefaultGrace}},
		{in: []string{"--group", "--grace", "300ms", "--", "true"}, want: Config{Args: []string{"true"}, Group: true, Grace: 300 * time.Millisecond}},
		{in: []string{"--grace=0", "true"}, want: Config{Args: []string{"true"}}},
		{in: []string{"sh", "-g"}, want: Config{Args: []string{"sh", "-g"}, Grace: DefaultGrace}},
		{in: []string{}, error: true},
		{in: []string{"-g"}, error: true},
		{in: []string{"--"}, error: true},
		{in: []string{"--grace"}, error: true},
		{in: []string{"--grace", "soon", "true"}, error: true},
		{in: []string{"--grace=-1s", "true"}, error: true},
		{in: []string{"--group=yes", "true"}, error: true},
		{in: []string{"-x", "true"}, error: true},
	}
	for _, tt := range tests {
		got, err := ParseArgs(tt.in)
		if tt.error {
			if err == nil {
				t.Errorf("ParseArgs(%q) = %+v, want an error", tt.in, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseArgs(%q): %v", tt.in, err)
			continue
		}
		if !slices.Equal(got.Args, tt.want.Args) || got.Group != tt.want.Group || got.Grace != tt.want.Grace {
			t.Errorf("ParseArgs(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestParseArgsHelp(t *testing.T) {
	for _, a := range []string{"-h", "--help"} {
		if _, err := ParseArgs([]string{a}); !errors.Is(err, ErrHelp) {
			t.Errorf("ParseArgs(%s): %v, want ErrHelp", a, err)
		}
	}
}
