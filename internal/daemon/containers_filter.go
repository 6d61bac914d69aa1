package daemon

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/container"

	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/filter"
)

// psFilter compiles `docker ps --filter` into a predicate: id, name,
// label (key or key=value), status, exited=<code>, ancestor (the image as
// named, its id or id prefix), before/since (another container, by
// creation), volume (a named volume or a mount destination), network (the
// network mode) and health (starting, healthy, unhealthy, none). Values of
// one key are alternatives; keys must all hold.
func (d *Daemon) psFilter(recs []containerRecord, filters map[string][]string) (func(containerRecord) bool, error) {
	var preds []func(containerRecord) bool
	anyOf := func(vals []string, ok func(r containerRecord, v string) bool) {
		preds = append(preds, func(r containerRecord) bool {
			return filter.Any(vals, func(v string) bool { return ok(r, v) })
		})
	}
	for key, vals := range filters {
		if len(vals) == 0 {
			continue
		}
		switch key {
		case "id":
			anyOf(vals, func(r containerRecord, v string) bool { return strings.HasPrefix(r.ID, v) })
		case "name":
			anyOf(vals, func(r containerRecord, v string) bool { return strings.Contains(r.Name, strings.TrimPrefix(v, "/")) })
		case "label":
			preds = append(preds, func(r containerRecord) bool { return filter.Labels(r.Config.Labels, vals) })
		case "status":
			anyOf(vals, func(r containerRecord, v string) bool { return v == d.shownState(r) })
		case "exited":
			for _, v := range vals {
				if _, err := strconv.Atoi(v); err != nil {
					return nil, fmt.Errorf("invalid filter 'exited=%s': %w", v, errdefs.ErrInvalidArgument)
				}
			}
			anyOf(vals, func(r containerRecord, v string) bool {
				return r.State == container.StateExited && strconv.Itoa(r.ExitCode) == v
			})
		case "ancestor":
			anyOf(vals, func(r containerRecord, v string) bool { return isAncestor(r, v) })
		case "before", "since":
			p, err := createdRelative(recs, key, vals)
			if err != nil {
				return nil, err
			}
			preds = append(preds, p)
		case "volume":
			anyOf(vals, func(r containerRecord, v string) bool { return usesVolume(r, v) })
		case "network":
			anyOf(vals, func(r containerRecord, v string) bool { return string(r.HostConfig.NetworkMode) == v })
		case "health":
			if err := healthFilter(vals); err != nil {
				return nil, err
			}
			anyOf(vals, func(r containerRecord, v string) bool { return d.healthName(r) == v })
		default:
			return nil, fmt.Errorf("invalid filter '%s': %w", key, errdefs.ErrInvalidArgument)
		}
	}
	return func(r containerRecord) bool {
		for _, p := range preds {
			if !p(r) {
				return false
			}
		}
		return true
	}, nil
}

// shownState is the state `ps` shows: paused is a running container's.
func (d *Daemon) shownState(r containerRecord) string {
	if r.State == container.StateRunning && d.paused(r) {
		return string(container.StatePaused)
	}
	return string(r.State)
}

// healthName is the health filter's value for r.
func (d *Daemon) healthName(r containerRecord) string {
	if h := d.healthOf(r); h != nil && h.Status != "" {
		return string(h.Status)
	}
	return "none"
}

func isAncestor(r containerRecord, v string) bool {
	if r.ImageRef == v || strings.TrimSuffix(r.ImageRef, ":latest") == strings.TrimSuffix(v, ":latest") {
		return true
	}
	id := strings.TrimPrefix(r.Image, "sha256:")
	v = strings.TrimPrefix(v, "sha256:")
	return len(v) >= 4 && strings.HasPrefix(id, v)
}

func usesVolume(r containerRecord, v string) bool {
	h := r.HostConfig
	for _, b := range h.Binds {
		parts := strings.Split(b, ":")
		if parts[0] == v || (len(parts) > 1 && parts[1] == v) {
			return true
		}
	}
	for _, m := range h.Mounts {
		if m.Source == v || m.Target == v {
			return true
		}
	}
	return false
}

// createdRelative is the before/since filter: containers created before
// (or after) the named one.
func createdRelative(recs []containerRecord, key string, vals []string) (func(containerRecord) bool, error) {
	if len(vals) != 1 {
		return nil, fmt.Errorf("filter %s takes one container: %w", key, errdefs.ErrInvalidArgument)
	}
	ref := strings.TrimPrefix(vals[0], "/")
	i := slices.IndexFunc(recs, func(r containerRecord) bool { return r.ID == ref || r.Name == ref || strings.HasPrefix(r.ID, ref) })
	if i < 0 {
		return nil, errdefs.Newf(errdefs.ErrNotFound, "No such container: %s", vals[0])
	}
	at := recs[i].Created
	if key == "before" {
		return func(r containerRecord) bool { return r.Created.Before(at) }, nil
	}
	return func(r containerRecord) bool { return r.Created.After(at) }, nil
}
