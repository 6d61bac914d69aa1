package network

import (
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"unicode"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"

	"github.com/pier-engine/pier/internal/metadata"
	kernel "github.com/pier-engine/pier/internal/network"
)

// Container is what the controller needs to know of a container.
type Container struct {
	ID, Name   string
	Image      string // the image's id, for the ports it exposes
	State      container.ContainerState
	Config     *container.Config
	HostConfig *container.HostConfig
	// The files the container's spec bind-mounts, which the controller
	// writes at each start and rewrites on connect and disconnect.
	HostnamePath, HostsPath, ResolvConfPath string
}

// Containers is how the controller finds the engine's containers.
type Containers interface {
	// Get returns container id; errdefs.ErrNotFound when there is none.
	Get(id string) (Container, error)
	// List returns every container.
	List() ([]Container, error)
	// Lock finds the container ref names (id, name or id prefix) and
	// holds its lock, so that it neither starts nor stops, until unlock.
	Lock(ref string) (c Container, unlock func(), err error)
	// ImagePorts are the ports image's config exposes ("80/tcp"); none
	// when it cannot be read.
	ImagePorts(image string) []string
}

// Publisher takes the controller's events (create, destroy, connect,
// disconnect of networks).
type Publisher interface {
	Publish(m events.Message)
}

// Config is what a Controller is made of.
type Config struct {
	// Root is the daemon's state directory: the controller keeps address
	// allocations under Root/network and namespace files under Root/netns.
	Root string
	// DefaultRoot says the daemon runs at its default root, so the default
	// network's bridge is pier0; any other root gets a bridge of its own.
	DefaultRoot bool
	Store       *metadata.Store // network and endpoint records
	Log         *slog.Logger
	Events      Publisher
	Containers  Containers
}

// Controller owns pier's networks: their records, bridges, address
// allocation, embedded DNS servers and published ports, and each
// container's endpoints. A network's bridge, its NAT and isolation rules
// and its resolver exist only while a container is attached (or while
// networks are held, see Hold): the first endpoint brings them up and the
// last one to leave takes them down, so a host where no container runs
// carries no pier bridge, rule or table.
//
// Its methods are safe for concurrent use. The daemon drives a
// container's part through AddContainer, StartContainer, StopContainer and
// RemoveContainer; the API's /networks through NetworkList, NetworkInspect,
// NetworkCreate, NetworkRemove, NetworkConnect, NetworkDisconnect and
// NetworkPrune.
type Controller struct {
	root        string
	defaultRoot bool
	md          *metadata.Store
	log         *slog.Logger
	events      Publisher
	containers  Containers

	defOnce sync.Once // makes the predefined networks' records
	defErr  error

	// mu serialises wiring, so a bridge's creation never interleaves with
	// the removal that follows its last endpoint's departure.
	mu    sync.Mutex
	ipams map[string]*kernel.IPAM // by network id. Guarded by mu.
	up    map[string]bool         // networks this process brought up. Guarded by mu.
	// hold keeps networks up once unused (Hold). Guarded by mu.
	hold bool
	// detaching are the veths being deleted in the background, by name;
	// each channel closes when its deletion ends. Guarded by mu.
	detaching map[string]chan struct{}
	dns       map[string]closer // resolvers by network id. Guarded by mu.

	// namesMu guards the resolvers' name tables, read on every query.
	namesMu sync.RWMutex
	names   map[string]map[string]nameEntry // network id → container id →. Guarded by namesMu.
}

// New makes a controller; Restore then settles what a previous pierd
// left in the kernel.
func New(cfg Config) *Controller {
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Controller{root: cfg.Root, defaultRoot: cfg.DefaultRoot, md: cfg.Store, log: log,
		events: cfg.Events, containers: cfg.Containers,
		ipams: map[string]*kernel.IPAM{}, up: map[string]bool{}, detaching: map[string]chan struct{}{},
		dns: map[string]closer{}, names: map[string]map[string]nameEntry{}}
}

// validNetworkName is dockerd's rule (libnetwork's IsValidName): any name
// but a blank one ("test 01" is a network name); pier also refuses control
// characters, which no CLI table or log line could show.
func validNetworkName(name string) bool {
	return strings.TrimSpace(name) != "" && !strings.ContainsFunc(name, unicode.IsControl)
}

// closer is a resolver as the controller holds it.
type closer interface{ Close() error }

// nameEntry is what one container answers to on a user network.
type nameEntry struct {
	names []string // lower-cased: name, aliases, short id
	ip    netip.Addr
	ip6   netip.Addr // on a dual-stack network: AAAA answers
	// linkTo, for a legacy link alias, is the lower-cased name of the
	// linked container, whose address is looked up at query time (it
	// may start after the linking one).
	linkTo string
}

// addrs are the entry's addresses, IPv6 after IPv4.
func (e nameEntry) addrs() []netip.Addr {
	if e.ip6.IsValid() {
		return []netip.Addr{e.ip, e.ip6}
	}
	return []netip.Addr{e.ip}
}
