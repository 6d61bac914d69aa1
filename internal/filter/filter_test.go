package filter

import (
	"errors"
	"testing"
)

func TestAny(t *testing.T) {
	eq := func(want string) func(string) bool { return func(v string) bool { return v == want } }
	for _, tc := range []struct {
		vals []string
		obj  string
		want bool
	}{
		{nil, "a", true}, // not asked for
		{[]string{"a"}, "a", true},
		{[]string{"b", "a"}, "a", true},
		{[]string{"b", "c"}, "a", false},
	} {
		if got := Any(tc.vals, eq(tc.obj)); got != tc.want {
			t.Errorf("Any(%q, ==%q) = %v, want %v", tc.vals, tc.obj, got, tc.want)
		}
	}
}

func TestAnyErrChecksEveryValue(t *testing.T) {
	bad := errors.New("bad value")
	match := func(v string) (bool, error) {
		if v == "!" {
			return false, bad
		}
		return v == "a", nil
	}
	if ok, err := AnyErr([]string{"a", "!"}, match); !errors.Is(err, bad) || ok {
		t.Errorf("AnyErr with a bad value after a match = %v, %v; want the error", ok, err)
	}
	if ok, err := AnyErr([]string{"b", "a"}, match); err != nil || !ok {
		t.Errorf("AnyErr = %v, %v; want a match", ok, err)
	}
	if ok, err := AnyErr(nil, match); err != nil || !ok {
		t.Errorf("AnyErr(nil) = %v, %v; want true", ok, err)
	}
}

func TestLabels(t *testing.T) {
	labels := map[string]string{"a": "1", "b": ""}
	for _, tc := range []struct {
		want []string
		ok   bool
	}{
		{nil, true},
		{[]string{"a"}, true},
		{[]string{"a=1", "b"}, true},
		{[]string{"b="}, true},
		{[]string{"a=2"}, false},
		{[]string{"a", "c"}, false},
	} {
		if got := Labels(labels, tc.want); got != tc.ok {
			t.Errorf("Labels(%v, %q) = %v, want %v", labels, tc.want, got, tc.ok)
		}
	}
}
