package daemon

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"

	"github.com/pier-engine/pier/internal/logfile"
)

// ContainerInspect describes a container as dockerd's GET
// /containers/{id}/json does.
func (d *Daemon) ContainerInspect(ctx context.Context, ref string) (container.InspectResponse, error) {
	r, err := d.lookup(ref)
	if err != nil {
		return container.InspectResponse{}, err
	}
	p := d.paths(r.ID)
	resp := container.InspectResponse{
		ID: r.ID, Created: r.Created.Format(time.RFC3339Nano), Path: r.Path, Args: nonNil(r.Args),
		State: &container.State{
			Status: r.State, Running: r.State == container.StateRunning, OOMKilled: r.OOMKilled,
			Pid: r.Pid, ExitCode: r.ExitCode, Error: r.Error,
			StartedAt: apiTime(r.StartedAt), FinishedAt: apiTime(r.FinishedAt),
		},
		Image:          r.Image,
		RestartCount:   d.restartCount(r),
		ResolvConfPath: p.resolvConf, HostnamePath: p.hostname, HostsPath: p.hosts, LogPath: p.log,
		Name: "/" + r.Name, Driver: "overlay2", Platform: "linux",
		HostConfig: inspectHostConfig(r.HostConfig), Config: r.Config, Mounts: d.mountPoints(r),
		NetworkSettings: &container.NetworkSettings{},
	}
	resp.State.Health = d.healthOf(r)
	d.showPaused(r, resp.State)
	d.showRestarting(r, resp.State)
	d.networkInspect(r, &resp)
	return resp, nil
}

// apiTime is Docker's format for a state time; the zero time as Docker
// writes it.
func apiTime(t time.Time) string {
	if t.IsZero() {
		return "0001-01-01T00:00:00Z"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// ContainerList returns the running containers, or all with all, newest
// first, filtered as psFilter says.
func (d *Daemon) ContainerList(ctx context.Context, all bool, filters map[string][]string) ([]container.Summary, error) {
	recs, err := d.containerRecords()
	if err != nil {
		return nil, err
	}
	matches, err := d.psFilter(recs, filters)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(recs, func(a, b containerRecord) int { return b.Created.Compare(a.Created) })
	out := []container.Summary{}
	now := time.Now()
	for _, r := range recs {
		if isCRI(r) {
			continue // the Kubernetes CRI's, not the Docker API's
		}
		if !all && r.State != container.StateRunning && len(filters["status"]) == 0 && len(filters["exited"]) == 0 {
			continue
		}
		if !matches(r) {
			continue
		}
		s := container.Summary{
			ID: r.ID, Names: []string{"/" + r.Name}, Image: r.ImageRef, ImageID: r.Image,
			Command: strings.Join(append([]string{r.Path}, r.Args...), " "), Created: r.Created.Unix(),
			Labels: r.Config.Labels, State: r.State, Status: statusText(r, now),
			Ports: []container.PortSummary{}, Mounts: d.mountPoints(r),
		}
		s.HostConfig.NetworkMode = string(r.HostConfig.NetworkMode)
		if r.State == container.StateRunning {
			s.Status += d.healthStatus(r)
		}
		s.Health = d.healthSummary(r)
		d.showPausedSummary(r, &s)
		d.showRestartingSummary(r, &s)
		d.networkSummary(r, &s)
		out = append(out, s)
	}
	return out, nil
}

// statusText is `docker ps`'s STATUS column.
func statusText(r containerRecord, now time.Time) string {
	switch r.State {
	case container.StateRunning:
		return "Up " + humanDuration(now.Sub(r.StartedAt))
	case container.StateExited:
		return fmt.Sprintf("Exited (%d) %s ago", r.ExitCode, humanDuration(now.Sub(r.FinishedAt)))
	}
	return "Created"
}

// humanDuration is Docker's (go-units) rough wording of a duration.
func humanDuration(d time.Duration) string {
	switch s := int(d.Seconds()); {
	case s < 1:
		return "Less than a second"
	case s == 1:
		return "1 second"
	case s < 60:
		return fmt.Sprintf("%d seconds", s)
	}
	switch m := int(d.Minutes()); {
	case m == 1:
		return "About a minute"
	case m < 60:
		return fmt.Sprintf("%d minutes", m)
	}
	switch h := int(d.Round(time.Hour).Hours()); {
	case h == 1:
		return "About an hour"
	case h < 48:
		return fmt.Sprintf("%d hours", h)
	default:
		return fmt.Sprintf("%d days", h/24)
	}
}

// ContainerLogs calls fn for the log entries opts selects; with Follow it
// returns once the container has ended and every entry is read (opts.Done
// is the daemon's).
func (d *Daemon) ContainerLogs(ctx context.Context, ref string, opts logfile.ReadOptions, fn func(logfile.Entry) error) error {
	r, err := d.lookup(ref)
	if err != nil {
		return err
	}
	w := d.exitOf(r.ID)
	// Read the state after taking the waiter, so an end in between is seen.
	if err := d.md.Get(containerKind, r.ID, &r); err != nil {
		return err
	}
	if r.State != container.StateRunning {
		done := make(chan struct{})
		close(done)
		opts.Done = done
	} else {
		opts.Done = w.done
	}
	return logfile.Read(ctx, d.paths(r.ID).log, opts, fn)
}
