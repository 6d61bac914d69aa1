// Package filter holds what every Docker API list filter (ps, images,
// networks, volumes, events, prune) means the same way: a key's values are
// alternatives, any of which may match; a key given no values constrains
// nothing; a label filter is "key" or "key=value". The keys themselves, and
// how one value matches one object, stay with each list, but for the prune
// endpoints', which all read the same keys the same way (Prune).
//
// It is a leaf: it imports nothing of pier's.
package filter

import "strings"

// Any reports whether match accepts one of vals, or true when there are
// none (the key was not asked for).
func Any(vals []string, match func(v string) bool) bool {
	if len(vals) == 0 {
		return true
	}
	for _, v := range vals {
		if match(v) {
			return true
		}
	}
	return false
}

// AnyErr is Any for a match that can refuse a value: every value is
// checked, so a bad one is an error whatever the others match.
func AnyErr(vals []string, match func(v string) (bool, error)) (bool, error) {
	if len(vals) == 0 {
		return true, nil
	}
	ok := false
	for _, v := range vals {
		m, err := match(v)
		if err != nil {
			return false, err
		}
		ok = ok || m
	}
	return ok, nil
}

// Label reports whether labels hold want: "key" (any value) or
// "key=value".
func Label(labels map[string]string, want string) bool {
	k, v, hasV := strings.Cut(want, "=")
	got, ok := labels[k]
	return ok && (!hasV || got == v)
}

// Labels reports whether labels hold every one of want.
func Labels(labels map[string]string, want []string) bool {
	for _, w := range want {
		if !Label(labels, w) {
			return false
		}
	}
	return true
}
