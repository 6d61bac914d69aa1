package filter

import (
	"fmt"
	"time"
)

// Prune is what every prune endpoint's filters mean, as dockerd reads
// them: an object goes only when it holds every Labels entry, none of the
// NotLabels, and was created before Until (any time when zero).
type Prune struct {
	Labels    []string
	NotLabels []string
	Until     time.Time
}

// ParsePrune reads prune filters ("label", "label!", "until"); any other
// key is refused, as is an until value Until cannot read.
func ParsePrune(filters map[string][]string, now time.Time) (Prune, error) {
	p := Prune{Labels: filters["label"], NotLabels: filters["label!"]}
	for key, vals := range filters {
		switch key {
		case "label", "label!":
		case "until":
			for _, v := range vals {
				t, err := Until(v, now)
				if err != nil {
					return Prune{}, err
				}
				p.Until = t
			}
		default:
			return Prune{}, fmt.Errorf("invalid filter '%s'", key)
		}
	}
	return p, nil
}

// Match reports whether an object with labels, created at created, is one
// p prunes.
func (p Prune) Match(labels map[string]string, created time.Time) bool {
	if !Labels(labels, p.Labels) {
		return false
	}
	for _, l := range p.NotLabels {
		if Label(labels, l) {
			return false
		}
	}
	return p.Until.IsZero() || created.Before(p.Until)
}
