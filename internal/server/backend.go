package server

import (
	"context"
	"encoding/json"
	"io"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/api/types/system"
	"github.com/moby/moby/api/types/volume"

	imagestore "github.com/pier-engine/pier/internal/image"
	"github.com/pier-engine/pier/internal/logfile"
)

// What the API needs from the engine, one interface per router (and the
// container router's split by concern), declared here where they are
// used. internal/daemon implements them all; cmd/pierd hands the daemon
// to each Config field, so the compiler checks every route's wiring.
//
// Names: a container is its full id, a unique id prefix or its name
// (with or without the leading "/"); an unknown one is
// errdefs.ErrNotFound. Errors carry errdefs kinds, which StatusOf turns
// into HTTP statuses.

// SystemBackend answers /version and /info.
type SystemBackend interface {
	// Info describes the host and the engine's objects (GET /info).
	Info(ctx context.Context) (system.Info, error)
	// Version names the engine and its components (GET /version); the
	// server fills in the API versions, which only it knows.
	Version(ctx context.Context) (system.VersionResponse, error)
}

// DiskUsageBackend answers GET /system/df.
type DiskUsageBackend interface {
	// SystemDF reports disk usage with every list filled in.
	SystemDF(ctx context.Context) (system.DiskUsage, error)
}

// ContainerBackend is what /containers/* needs, besides exec.
type ContainerBackend interface {
	ContainerStateBackend
	ContainerMonitorBackend
	ContainerAttachBackend
	ContainerCopyBackend
}

// ContainerStateBackend makes, runs and removes containers.
type ContainerStateBackend interface {
	// ContainerCreate makes a container called name ("" for a made-up one).
	ContainerCreate(ctx context.Context, name string, req container.CreateRequest) (container.CreateResponse, error)
	// ContainerStart starts it; errdefs.ErrAlreadyExists if it runs.
	ContainerStart(ctx context.Context, ref string) error
	// ContainerWait blocks until condition holds and returns the exit code.
	ContainerWait(ctx context.Context, ref string, condition container.WaitCondition) (container.WaitResponse, error)
	// ContainerKill sends sig ("" for SIGKILL).
	ContainerKill(ctx context.Context, ref, sig string) error
	// ContainerStop stops it, SIGKILL after timeout seconds (nil: the
	// container's own); errdefs.ErrNotRunning if it does not run.
	ContainerStop(ctx context.Context, ref string, timeout *int) error
	// ContainerRestart stops it (timeout as for stop) and starts it.
	ContainerRestart(ctx context.Context, ref string, timeout *int) error
	// ContainerPause freezes a running container; ContainerUnpause thaws
	// a paused one. Otherwise they are errdefs.ErrConflict.
	ContainerPause(ctx context.Context, ref string) error
	ContainerUnpause(ctx context.Context, ref string) error
	// ContainerRename names it newName; a taken name is errdefs.ErrConflict.
	ContainerRename(ctx context.Context, ref, newName string) error
	// ContainerUpdate changes the container's resource limits.
	ContainerUpdate(ctx context.Context, ref string, u container.UpdateConfig) (container.UpdateResponse, error)
	// ContainerDelete deletes it; force kills a running one first,
	// removeVolumes also removes its anonymous volumes, and removeLink
	// removes only the legacy link ref ("name/alias").
	ContainerDelete(ctx context.Context, ref string, force, removeVolumes, removeLink bool) error
	// ContainersPrune removes the stopped containers filters select.
	ContainersPrune(ctx context.Context, filters map[string][]string) (container.PruneReport, error)
}

// ContainerMonitorBackend describes containers and what they do.
type ContainerMonitorBackend interface {
	ContainerInspect(ctx context.Context, ref string) (container.InspectResponse, error)
	ContainerList(ctx context.Context, all bool, filters map[string][]string) ([]container.Summary, error)
	// ContainerSize is ps --size's SizeRw (the writable layer) and
	// SizeRootFs (that plus the image).
	ContainerSize(ctx context.Context, id string) (rw, rootfs int64, err error)
	// ContainerLogs calls fn for each entry opts selects (the backend sets
	// opts.Done); with Follow it returns once the container has ended.
	ContainerLogs(ctx context.Context, ref string, opts logfile.ReadOptions, fn func(logfile.Entry) error) error
	// ContainerStats calls fn with one snapshot, or with stream one a
	// second until ctx ends or the container stops.
	ContainerStats(ctx context.Context, ref string, stream bool, fn func(container.StatsResponse) error) error
	// ContainerTop lists its processes, as `ps psArgs` would ("" for
	// the default columns).
	ContainerTop(ctx context.Context, ref, psArgs string) (container.TopResponse, error)
	// ContainerNamespaces returns its init's host pid and the links of
	// /proc/PID/ns by type ("mnt" -> "mnt:[4026532177]").
	ContainerNamespaces(ctx context.Context, ref string) (int, map[string]string, error)
	// ContainerProcessInfo returns the container's cgroup path (relative
	// to each hierarchy's root), and while it runs the host pids of its
	// init and monitor and its namespaces as /proc/PID/ns shows them:
	// inspect's "Pier" object.
	ContainerProcessInfo(ctx context.Context, ref string) (cgroupPath string, pid, monitorPid int, ns map[string]string, err error)
}

// ContainerAttachBackend connects a client to a container's stdio.
type ContainerAttachBackend interface {
	// ContainerAttachStreams attaches to container ref. streams is called
	// once ref is known, with whether it has a tty, and returns the
	// client's stdin (nil: none) and where stdout and stderr go (nil: not
	// wanted); with logs the log so far is sent first; with stream the
	// live output follows until the container ends, the client's input
	// ends or it types detachKeys ("" for ctrl-p,ctrl-q). An error
	// before streams is called is the request's.
	ContainerAttachStreams(ctx context.Context, ref string, logs, stream bool, detachKeys string,
		streams func(tty bool) (io.Reader, io.Writer, io.Writer, error)) error
	// ContainerResize sets a running container's terminal size.
	ContainerResize(ctx context.Context, ref string, height, width uint) error
}

// ContainerCopyBackend moves files in and out of a container (docker cp,
// docker export). A missing path is errdefs.ErrNotFound with dockerd's
// "Could not find the file" message.
type ContainerCopyBackend interface {
	// ContainerStatPath describes path in the container (HEAD archive).
	ContainerStatPath(ctx context.Context, ref, path string) (container.PathStat, error)
	// ContainerArchivePath calls stat with that description, then writes
	// a tar of path to w (GET archive); it writes nothing when it fails
	// before stat.
	ContainerArchivePath(ctx context.Context, ref, path string, stat func(container.PathStat), w io.Writer) error
	// ContainerExtractToDir unpacks the tar r into the directory path
	// (PUT archive).
	ContainerExtractToDir(ctx context.Context, ref, path string, noOverwriteDirNonDir, copyUIDGID bool, r io.Reader) error
	// ContainerExport writes the container's filesystem to w as a tar; it
	// writes nothing when it fails before the first byte.
	ContainerExport(ctx context.Context, ref string, w io.Writer) error
}

// ExecBackend is what /containers/{id}/exec and /exec/* need. An exec is
// created for a running container (errdefs.ErrConflict if it does not
// run), started once, and inspected for its exit code after.
type ExecBackend interface {
	// ExecCreate records cfg for container ref and returns the exec's id.
	ExecCreate(ctx context.Context, ref string, cfg container.ExecCreateRequest) (string, error)
	// ExecStart runs exec id, reading its stdin from stdin (nil: none)
	// and writing its output to stdout and stderr (with a tty all of it
	// goes to stdout); attached it returns when the process has ended,
	// detached once it started. An unknown id is errdefs.ErrNotFound.
	ExecStart(ctx context.Context, id string, detach bool, stdin io.Reader, stdout, stderr io.Writer) error
	ExecInspect(ctx context.Context, id string) (container.ExecInspectResponse, error)
	// ExecResize sets the size of a running exec's terminal.
	ExecResize(ctx context.Context, id string, height, width uint) error
}

// ImageBackend is what /images/* needs. References are as users type
// them ("busybox", "127.0.0.1:5000/app:v1") or image ids and id
// prefixes. Pull and push report progress in the store's terms, which
// the server renders as Docker's JSON progress stream.
type ImageBackend interface {
	ImageList(ctx context.Context) ([]image.Summary, error)
	// DistributionInspect asks the registry for ref's manifest descriptor
	// and platforms, without pulling.
	DistributionInspect(ctx context.Context, ref string) (registry.DistributionInspect, error)
	ImageInspect(ctx context.Context, ref string) (image.InspectResponse, error)
	// ImageLegacyInspect is what inspect shows before API 1.45: the
	// committed container's id and config (raw JSON, nil when none) and the
	// local parent image's id ("" when none).
	ImageLegacyInspect(ctx context.Context, ref string) (ctr string, ctrCfg json.RawMessage, parent string, err error)
	ImageHistory(ctx context.Context, ref string) ([]image.HistoryResponseItem, error)
	ImageTag(ctx context.Context, source, ref string) error
	ImageRemove(ctx context.Context, ref string, force bool) ([]image.DeleteResponse, error)
	// ImagePrune removes dangling images, or with all every unused one,
	// that filters ("until", "label", "label!") select.
	ImagePrune(ctx context.Context, all bool, filters map[string][]string) (image.PruneReport, error)
	ImagePull(ctx context.Context, ref string, progress imagestore.ProgressFunc) error
	// ImagePush returns the manifest digest the registry now serves.
	ImagePush(ctx context.Context, ref string, progress imagestore.ProgressFunc) (string, error)
	// ImageSave fails before writing to w when a ref is unknown.
	ImageSave(ctx context.Context, w io.Writer, refs []string) error
	ImageLoad(ctx context.Context, r io.Reader) ([]image.Summary, error)
	// ImageImport returns the new image's id; ref may be "".
	ImageImport(ctx context.Context, r io.Reader, ref string, changes []string) (string, error)
}

// NetworkBackend is what /networks/* needs.
type NetworkBackend interface {
	// NetworkList returns the networks filters select.
	NetworkList(ctx context.Context, filters map[string][]string) ([]network.Summary, error)
	// NetworkInspect finds a network by id, name or id prefix.
	NetworkInspect(ctx context.Context, ref string) (network.Inspect, error)
	// NetworkCreate makes a network; a taken name is errdefs.ErrConflict.
	NetworkCreate(ctx context.Context, req network.CreateRequest) (network.CreateResponse, error)
	// NetworkCreateDuplicate is NetworkCreate letting the name be taken
	// (CheckDuplicate=false before API 1.44).
	NetworkCreateDuplicate(ctx context.Context, req network.CreateRequest) (network.CreateResponse, error)
	// NetworkRemove deletes a network no running container uses.
	NetworkRemove(ctx context.Context, ref string) error
	// NetworkConnect and NetworkDisconnect attach and detach a container.
	NetworkConnect(ctx context.Context, ref string, req network.ConnectRequest) error
	NetworkDisconnect(ctx context.Context, ref string, req network.DisconnectRequest) error
	// NetworkPrune removes the unused user networks.
	NetworkPrune(ctx context.Context, filters map[string][]string) (network.PruneReport, error)
}

// VolumeBackend is what /volumes/* needs. Filters arrive decoded from the
// API's JSON, key to values; the backend checks the keys and values and
// answers unknown ones with errdefs.ErrInvalidArgument.
type VolumeBackend interface {
	// VolumeCreate makes a volume, or returns the one of that name.
	VolumeCreate(ctx context.Context, req volume.CreateRequest) (volume.Volume, error)
	// VolumeList returns the volumes filters select.
	VolumeList(ctx context.Context, filters map[string][]string) (volume.ListResponse, error)
	// VolumeInspect returns one volume or errdefs.ErrNotFound.
	VolumeInspect(ctx context.Context, name string) (volume.Volume, error)
	// VolumeRemove deletes a volume; with force a missing one is no error.
	// A volume in use is errdefs.ErrConflict.
	VolumeRemove(ctx context.Context, name string, force bool) error
	// VolumePrune removes the unused volumes filters select.
	VolumePrune(ctx context.Context, filters map[string][]string) (volume.PruneReport, error)
}
