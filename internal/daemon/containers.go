package daemon

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"

	"github.com/pier-engine/pier/internal/atomicfile"
	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/specgen"
	"github.com/pier-engine/pier/internal/trace"
)

// containerKind is the metadata kind of container records.
const containerKind = "containers"

// containerRecord is what the daemon keeps of a container, one metadata
// record per container; its files live under containerDir.
type containerRecord struct {
	ID          string                `json:"id"`
	Name        string                `json:"name"` // without the leading "/"
	Image       string                `json:"image"`
	ImageRef    string                `json:"imageRef"` // as the user named it
	Created     time.Time             `json:"created"`
	Config      *container.Config     `json:"config"`
	HostConfig  *container.HostConfig `json:"hostConfig"`
	Path        string                `json:"path"`
	Args        []string              `json:"args"`
	StopSignal  string                `json:"stopSignal"`
	StopTimeout time.Duration         `json:"stopTimeout"`
	CgroupsPath string                `json:"cgroupsPath"`

	State      container.ContainerState `json:"state"`
	Pid        int                      `json:"pid"`
	MonitorPid int                      `json:"monitorPid"`
	ExitCode   int                      `json:"exitCode"`
	OOMKilled  bool                     `json:"oomKilled"`
	Error      string                   `json:"error,omitempty"`
	StartedAt  time.Time                `json:"startedAt"`
	FinishedAt time.Time                `json:"finishedAt"`
	// AnonVolumes are the anonymous volumes made at create, by target.
	AnonVolumes map[string]string `json:"anonVolumes,omitempty"`
	// Mounted says the rootfs is mounted: from start until the end.
	Mounted bool `json:"mounted"`
}

// ctrPaths are a container's files: under the daemon's root (dir) what
// must outlast a reboot, under the exec root (run) what a start makes
// again (execroot.go).
type ctrPaths struct {
	dir, bundle, rootfs, config, shm, log         string
	run, hostname, hosts, resolvConf              string
	status, pid, monitorPid, monitorConfig, rtLog string
}

func (d *Daemon) paths(id string) ctrPaths {
	dir := filepath.Join(d.cfg.Root, "containers", id)
	run := filepath.Join(d.execRoot, "containers", id)
	bundle := filepath.Join(dir, "bundle")
	return ctrPaths{
		dir: dir, bundle: bundle, rootfs: filepath.Join(bundle, "rootfs"),
		config: filepath.Join(bundle, "config.json"), shm: filepath.Join(dir, "shm"),
		log: filepath.Join(dir, id+"-json.log"),
		run: run, hostname: filepath.Join(run, "hostname"), hosts: filepath.Join(run, "hosts"),
		resolvConf: filepath.Join(run, "resolv.conf"),
		status:     filepath.Join(run, "status.json"), pid: filepath.Join(run, "init.pid"),
		monitorPid: filepath.Join(run, "monitor.pid"), monitorConfig: filepath.Join(run, "monitor.json"),
		rtLog: filepath.Join(run, "runtime.log"),
	}
}

// validName is Docker's rule for container names.
var validName = regexp.MustCompile(`^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)

// ContainerCreate makes a container from req: its writable layer, bundle
// and record. It does not start it.
func (d *Daemon) ContainerCreate(ctx context.Context, name string, req container.CreateRequest) (container.CreateResponse, error) {
	cfg, host := req.Config, req.HostConfig
	if cfg == nil {
		cfg = &container.Config{}
	}
	if host == nil {
		host = &container.HostConfig{}
	}
	if cfg.Image == "" {
		return container.CreateResponse{}, fmt.Errorf("no image given: %w", errdefs.ErrInvalidArgument)
	}
	if err := validateHealthConfig(cfg.Healthcheck); err != nil {
		return container.CreateResponse{}, err
	}
	if err := checkCreate(cfg, host); err != nil {
		return container.CreateResponse{}, err
	}
	img, err := d.images.Get(cfg.Image)
	if err != nil {
		if errors.Is(err, errdefs.ErrNotFound) {
			return container.CreateResponse{}, errdefs.Newf(errdefs.ErrNotFound, "No such image: %s", cfg.Image)
		}
		return container.CreateResponse{}, err
	}
	trace.Mark("pierd", "create: image found")
	imgCfg, err := d.images.Config(img)
	if err != nil {
		return container.CreateResponse{}, err
	}
	if err := checkPlatform(ctx, cfg.Image, imgCfg); err != nil {
		return container.CreateResponse{}, err
	}
	cfg.Healthcheck = mergeHealthConfig(cfg.Healthcheck, imgCfg.Config.Healthcheck)
	if cfg.StopSignal == "" {
		// dockerd's inspect shows the image's STOPSIGNAL as the container's.
		cfg.StopSignal = imgCfg.Config.StopSignal
	}
	trace.Mark("pierd", "create: image config")
	if err := d.hostRuntime(host); err != nil {
		return container.CreateResponse{}, err
	}
	name, err = d.claimName(name)
	if err != nil {
		return container.CreateResponse{}, err
	}
	defer d.releaseName(name)
	trace.Mark("pierd", "create: name claimed")
	id := newContainerID()
	p := d.paths(id)
	// The writable layer is made while the rest of the create goes on:
	// its fsyncs and config.json's overlap rather than queue, and the
	// record, written last, still comes after both.
	prepared := d.prepareLayer(id, img.TopChainID())
	// So is the endpoint record of its network (a durable write).
	networked := background(func() error { return d.networkCreate(ctx, id, req.NetworkingConfig, host) })
	created := false
	defer func() {
		if !created {
			if networked() == nil {
				d.networkRemove(id)
			}
			_ = prepared()
			_ = d.images.Snapshots().Remove(id)
			_ = os.RemoveAll(p.dir)
			_ = os.RemoveAll(p.run)
		}
	}()
	specHost, anon, undoAnon, err := d.anonVolumes(cfg, host, imgCfg)
	if err != nil {
		return container.CreateResponse{}, err
	}
	defer func() {
		if !created {
			undoAnon()
		}
	}()
	if err := d.writeContainerFiles(id, cfg, host, p); err != nil {
		return container.CreateResponse{}, err
	}
	trace.Mark("pierd", "create: volumes, files")
	shmPath, err := d.shmPathFor(id, host)
	if err != nil {
		return container.CreateResponse{}, err
	}
	out, err := d.writeSpec(specgen.Input{
		ID: id, Name: name, Image: imgCfg, HostConfig: specHost, Rootfs: p.rootfs,
		HostnamePath: p.hostname, HostsPath: p.hosts, ResolvConfPath: p.resolvConf,
		InitPath:     filepath.Join(filepath.Dir(d.runtime), "pier-init"),
		ContainerPID: d.containerPID,
		VolumePath:   d.volumePath,
		NetnsPath:    d.netnsPath(id, host),
		ShmPath:      shmPath,
	}, cfg, img.TopChainID(), p.config)
	if perr := prepared(); perr != nil {
		// The layer came first in the create's order: its error is the
		// one to report, as when it was made before the spec.
		return container.CreateResponse{}, perr
	}
	if err != nil {
		return container.CreateResponse{}, err
	}
	trace.Mark("pierd", "create: config.json written")
	rec := containerRecord{
		ID: id, Name: name, Image: img.ID, ImageRef: cfg.Image, Created: time.Now().UTC(),
		Config: cfg, HostConfig: host, StopSignal: out.StopSignal, StopTimeout: out.StopTimeout,
		CgroupsPath: out.Spec.Linux.CgroupsPath, State: container.StateCreated, AnonVolumes: anon,
	}
	if args := out.Spec.Process.Args; len(args) > 0 {
		rec.Path, rec.Args = args[0], args[1:]
		if host.Init == nil || *host.Init {
			rec.Path, rec.Args = userCommand(args)
		}
	}
	if err := networked(); err != nil {
		return container.CreateResponse{}, err
	}
	trace.Mark("pierd", "create: network")
	// Ordered, as dockerd writes a container's config: the record's data
	// is on disk before its rename, the rename is not waited for. kill -9
	// loses nothing; after a host crash the container is whole or absent,
	// since the journal commits the rename after the layer's and
	// config.json's (a leftover directory goes with the sweep).
	if err := d.md.CreateOrdered(containerKind, id, &rec); err != nil {
		return container.CreateResponse{}, err
	}
	trace.Mark("pierd", "create: recorded")
	created = true
	d.emitContainer(rec, "create")
	return container.CreateResponse{ID: id, Warnings: []string{}}, nil
}

// prepareLayer starts making container id's writable layer on top of
// chainID and returns the function that waits for it and tells its error
// (the same each time it is called). Ordered, not durable: the record,
// written after it, is what makes the container exist.
func (d *Daemon) prepareLayer(id, chainID string) func() error {
	return background(func() error {
		if err := d.images.Snapshots().PrepareOrdered(id, chainID); err != nil {
			return fmt.Errorf("container %s: %w", id, err)
		}
		return nil
	})
}

// background starts fn and returns the function that waits for it and
// returns its error, the same each time it is called.
func background(fn func() error) func() error {
	done := make(chan error, 1)
	go func() { done <- fn() }()
	return sync.OnceValue(func() error { return <-done })
}

// writeSpec completes in with the container's config (its links
// resolved) and image layers, builds the OCI spec and writes it to path,
// its data on disk before the rename (the record, written after, makes
// the container exist). The container's own writable layer may still be being made:
// it is empty, so the user and group lookups in the layers find nothing
// there either way.
func (d *Daemon) writeSpec(in specgen.Input, cfg *container.Config, chainID, path string) (*specgen.Output, error) {
	var err error
	if in.Config, err = d.withLinks(in.Name, cfg, in.HostConfig); err != nil {
		return nil, err
	}
	if in.Layers, err = d.rootfsLayers(in.ID, chainID); err != nil {
		return nil, err
	}
	out, err := specgen.Build(in)
	if err != nil {
		return nil, err
	}
	trace.Mark("pierd", "create: spec built")
	spec, err := json.Marshal(out.Spec)
	if err != nil {
		return nil, fmt.Errorf("container %s: spec: %w", in.ID, err)
	}
	if err := atomicfile.WriteOrdered(path, spec, 0o600); err != nil {
		return nil, fmt.Errorf("container %s: %w", in.ID, err)
	}
	return out, nil
}

// userCommand strips pier-init's "INIT --" prefix: Docker shows the user's
// command as Path and Args.
func userCommand(args []string) (string, []string) {
	for i, a := range args {
		if a == "--" && i+1 < len(args) {
			return args[i+1], args[i+2:]
		}
	}
	return args[0], args[1:]
}

// writeContainerFiles makes the container's directories, the empty log
// its readers can follow before the start, and /etc/hostname, hosts and
// resolv.conf.
func (d *Daemon) writeContainerFiles(id string, cfg *container.Config, host *container.HostConfig, p ctrPaths) error {
	if err := os.MkdirAll(p.rootfs, 0o700); err != nil {
		return fmt.Errorf("container %s: %w", id, err)
	}
	if err := os.WriteFile(p.log, nil, 0o644); err != nil {
		return fmt.Errorf("container %s: %w", id, err)
	}
	return writeRunFiles(id, cfg, host, p)
}

// writeRunFiles makes the container's exec-root directory with
// /etc/hostname, hosts and resolv.conf, from its configuration alone.
func writeRunFiles(id string, cfg *container.Config, host *container.HostConfig, p ctrPaths) error {
	if err := os.MkdirAll(p.run, 0o711); err != nil {
		return fmt.Errorf("container %s: %w", id, err)
	}
	hostname := ""
	if cfg != nil {
		hostname = cfg.Hostname
	}
	if hostname == "" {
		hostname = id[:12]
	}
	if host != nil && host.NetworkMode.IsHost() {
		hostname, _ = os.Hostname()
	}
	resolv, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		resolv = nil // a container without DNS servers is still a container
	}
	files := map[string][]byte{
		p.hostname:   []byte(hostname + "\n"),
		p.hosts:      []byte("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t" + hostname + "\n"),
		p.resolvConf: resolv,
	}
	for path, data := range files {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return fmt.Errorf("container %s: %w", id, err)
		}
	}
	return nil
}

// claimName reserves name (or a made-up one) for a container being
// created until releaseName, so that creates need not hold ctrMu while
// they build the container.
func (d *Daemon) claimName(name string) (string, error) {
	d.ctrMu.Lock()
	defer d.ctrMu.Unlock()
	name, err := d.reserveName(name)
	if err != nil {
		return "", err
	}
	if d.pendingNames == nil {
		d.pendingNames = map[string]bool{}
	}
	d.pendingNames[name] = true
	return name, nil
}

// releaseName ends claimName's reservation: the record now holds the
// name, or the create failed.
func (d *Daemon) releaseName(name string) {
	d.ctrMu.Lock()
	delete(d.pendingNames, name)
	d.ctrMu.Unlock()
}

// reserveName checks name, or makes one up; ctrMu is held.
func (d *Daemon) reserveName(name string) (string, error) {
	if name != "" {
		if !validName.MatchString(name) {
			return "", fmt.Errorf("Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed: %w", name, errdefs.ErrInvalidArgument)
		}
		name = strings.TrimPrefix(name, "/")
	}
	ents, err := d.ctrIndex.entries(d.md)
	if err != nil {
		return "", err
	}
	taken := map[string]string{}
	for _, e := range ents {
		taken[e.name] = e.id
	}
	for n := range d.pendingNames {
		taken[n] = "(being created)"
	}
	if name != "" {
		if id, ok := taken[name]; ok {
			return "", fmt.Errorf("Conflict. The container name \"/%s\" is already in use by container \"%s\". You have to remove (or rename) that container to be able to reuse that name: %w", name, id, errdefs.ErrConflict)
		}
		return name, nil
	}
	for i := 0; ; i++ {
		n := randomName(i > 5)
		if _, ok := taken[n]; !ok {
			return n, nil
		}
	}
}

var (
	adjectives = []string{"brave", "calm", "eager", "fond", "gentle", "happy", "jolly", "keen", "lucid", "merry", "nifty", "proud", "quiet", "swift", "tender", "vivid", "wise", "zen"}
	nouns      = []string{"anchor", "buoy", "cargo", "dock", "ferry", "harbor", "jetty", "keel", "lighthouse", "mooring", "quay", "rudder", "sail", "tide", "wharf"}
)

// randomName is pier's "pier_adjective_noun"; with suffix a number makes
// collisions unlikely once the small space fills up.
func randomName(suffix bool) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	n := fmt.Sprintf("pier_%s_%s", adjectives[int(b[0])%len(adjectives)], nouns[int(b[1])%len(nouns)])
	if suffix {
		n += fmt.Sprint(b[2])
	}
	return n
}

func newContainerID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// containerRecords reads every container record.
func (d *Daemon) containerRecords() ([]containerRecord, error) {
	ids, err := d.md.List(containerKind)
	if err != nil {
		return nil, err
	}
	out := make([]containerRecord, 0, len(ids))
	for _, id := range ids {
		var r containerRecord
		if err := d.md.Get(containerKind, id, &r); err != nil {
			if errors.Is(err, errdefs.ErrNotFound) {
				continue // removed meanwhile
			}
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// lookup finds a container by full id, name (with or without "/") or
// unique id prefix, as dockerd does.
func (d *Daemon) lookup(ref string) (containerRecord, error) {
	// A full id, what clients send after create and what the daemon uses
	// inside, is one record read, not a scan of every container's.
	if len(ref) == 64 && isHexID(ref) {
		var r containerRecord
		err := d.md.Get(containerKind, ref, &r)
		if err == nil || !errors.Is(err, errdefs.ErrNotFound) {
			return r, err
		}
	}
	ents, err := d.ctrIndex.entries(d.md)
	if err != nil {
		return containerRecord{}, err
	}
	name := strings.TrimPrefix(ref, "/")
	var prefixed []string
	for _, e := range ents {
		if e.cri {
			continue // found by full id only, by the CRI
		}
		if e.id == ref || e.name == name {
			return d.lookupID(ref, e.id)
		}
		if ref != "" && strings.HasPrefix(e.id, ref) {
			prefixed = append(prefixed, e.id)
		}
	}
	switch len(prefixed) {
	case 1:
		return d.lookupID(ref, prefixed[0])
	case 0:
		return containerRecord{}, errdefs.Newf(errdefs.ErrNotFound, "No such container: %s", ref)
	}
	return containerRecord{}, fmt.Errorf("multiple IDs found with provided prefix: %s: %w", ref, errdefs.ErrInvalidArgument)
}

// lookupID reads the record of container id, which the index found for
// ref; removed since, it is not found by ref.
func (d *Daemon) lookupID(ref, id string) (containerRecord, error) {
	var r containerRecord
	err := d.md.Get(containerKind, id, &r)
	if errors.Is(err, errdefs.ErrNotFound) {
		return r, errdefs.Newf(errdefs.ErrNotFound, "No such container: %s", ref)
	}
	return r, err
}

// containerPID is specgen's container:<name|id> resolver.
func (d *Daemon) containerPID(ref string) (int, error) {
	r, err := d.lookup(ref)
	if err != nil {
		return 0, err
	}
	if r.State != container.StateRunning {
		return 0, fmt.Errorf("container %s is not running: %w", ref, errdefs.ErrConflict)
	}
	return r.Pid, nil
}

// volumePath is specgen's named-volume resolver. A volume that does not
// exist yet is created, as `docker run -v name:/dst` does.
func (d *Daemon) volumePath(name string) (string, error) {
	v, err := d.volumes.Create(name, nil, nil)
	if err != nil {
		return "", err
	}
	return v.ToAPI().Mountpoint, nil
}

func isHexID(s string) bool {
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
