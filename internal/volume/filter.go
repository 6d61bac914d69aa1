package volume

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pier-engine/pier/internal/errdefs"
)

// Filter selects volumes for List, with Docker's semantics: a volume must
// match one of Names (substrings) and one of Drivers if they are given, and
// every entry of Labels ("key" or "key=value").
type Filter struct {
	Names    []string
	Drivers  []string
	Labels   []string
	Dangling *bool // true: only volumes not in use; false: only in use
	// InUse reports whether a container uses the volume; nil means none does.
	InUse func(name string) bool
}

// ParseFilter builds a Filter from the Engine API's filters (the decoded
// "filters" query parameter) and refuses keys Docker does not know.
func ParseFilter(args map[string][]string) (Filter, error) {
	var f Filter
	for key, vals := range args {
		switch key {
		case "name":
			f.Names = vals
		case "driver":
			f.Drivers = vals
		case "label":
			f.Labels = vals
		case "dangling":
			for _, v := range vals {
				b, err := parseBool(v)
				if err != nil {
					return Filter{}, fmt.Errorf("invalid filter 'dangling=%s': %w", v, errdefs.ErrInvalidArgument)
				}
				f.Dangling = &b
			}
		default:
			return Filter{}, fmt.Errorf("invalid filter '%s': %w", key, errdefs.ErrInvalidArgument)
		}
	}
	return f, nil
}

func parseBool(s string) (bool, error) {
	return strconv.ParseBool(strings.ToLower(s))
}

// List returns the volumes f selects, sorted by name.
func (s *Store) List(f Filter) ([]*Volume, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	vols, err := s.all()
	if err != nil {
		return nil, err
	}
	out := vols[:0]
	for _, v := range vols {
		if f.match(v) {
			out = append(out, v)
		}
	}
	return out, nil
}

func (f *Filter) match(v *Volume) bool {
	if len(f.Names) > 0 && !anyOf(f.Names, func(n string) bool { return strings.Contains(v.Name, n) }) {
		return false
	}
	if len(f.Drivers) > 0 && !anyOf(f.Drivers, func(d string) bool { return d == v.Driver }) {
		return false
	}
	for _, l := range f.Labels {
		if !hasLabel(v.Labels, l) {
			return false
		}
	}
	if f.Dangling != nil {
		used := f.InUse != nil && f.InUse(v.Name)
		if used == *f.Dangling {
			return false
		}
	}
	return true
}

func anyOf(list []string, ok func(string) bool) bool {
	for _, s := range list {
		if ok(s) {
			return true
		}
	}
	return false
}

// hasLabel matches "key" (present, any value) or "key=value".
func hasLabel(labels map[string]string, filter string) bool {
	key, want, withValue := strings.Cut(filter, "=")
	got, ok := labels[key]
	return ok && (!withValue || got == want)
}

// PruneFilter selects the volumes Prune may remove. Without All only
// anonymous volumes (AnonymousLabel) go, as in Engine API 1.42 and later;
// the server sets All for older API versions, which pruned every unused
// volume.
type PruneFilter struct {
	All       bool
	Labels    []string // every one must match: "key" or "key=value"
	NotLabels []string // none may match
}

// ParsePruneFilter builds a PruneFilter from the Engine API's filters.
func ParsePruneFilter(args map[string][]string) (PruneFilter, error) {
	var f PruneFilter
	for key, vals := range args {
		switch key {
		case "label":
			f.Labels = vals
		case "label!":
			f.NotLabels = vals
		case "all":
			for _, v := range vals {
				b, err := parseBool(v)
				if err != nil {
					return PruneFilter{}, fmt.Errorf("invalid filter 'all=%s': %w", v, errdefs.ErrInvalidArgument)
				}
				f.All = b
			}
		default:
			return PruneFilter{}, fmt.Errorf("invalid filter '%s': %w", key, errdefs.ErrInvalidArgument)
		}
	}
	return f, nil
}

func (f *PruneFilter) match(v *Volume) bool {
	if _, anon := v.Labels[AnonymousLabel]; !f.All && !anon {
		return false
	}
	for _, l := range f.Labels {
		if !hasLabel(v.Labels, l) {
			return false
		}
	}
	for _, l := range f.NotLabels {
		if hasLabel(v.Labels, l) {
			return false
		}
	}
	return true
}

// Prune removes the volumes f selects that are not inUse (nil: none is) and
// returns their names and the bytes their data held.
func (s *Store) Prune(inUse func(name string) bool, f PruneFilter) (removed []string, spaceReclaimed uint64, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	vols, err := s.all()
	if err != nil {
		return nil, 0, err
	}
	for _, v := range vols {
		if !f.match(v) || (inUse != nil && inUse(v.Name)) {
			continue
		}
		size, err := usage(v.Mountpoint)
		if err != nil {
			return removed, spaceReclaimed, err
		}
		if err := s.remove(v.Name); err != nil {
			return removed, spaceReclaimed, err
		}
		removed = append(removed, v.Name)
		spaceReclaimed += uint64(size)
	}
	return removed, spaceReclaimed, nil
}
