package volume

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	apivolume "github.com/moby/moby/api/types/volume"

	"github.com/pier-engine/pier/internal/errdefs"
)

const (
	// DriverLocal is the only driver pier has.
	DriverLocal = "local"
	// ScopeLocal is the scope of every local volume.
	ScopeLocal = "local"
	// AnonymousLabel marks the volumes the daemon creates for a container's
	// anonymous mounts (VOLUME in an image, -v /path); Docker's name, so
	// Prune without "all" removes the same volumes Docker would.
	AnonymousLabel = "com.docker.volume.anonymous"
)

// Volume is a named volume as the daemon sees it.
type Volume struct {
	Name       string
	Driver     string
	Mountpoint string // <root>/volumes/<name>/_data
	CreatedAt  time.Time
	Labels     map[string]string
	Options    map[string]string
	Scope      string
}

// ToAPI converts v to the Engine API's volume.
func (v *Volume) ToAPI() apivolume.Volume {
	return apivolume.Volume{
		Name:       v.Name,
		Driver:     v.Driver,
		Mountpoint: v.Mountpoint,
		CreatedAt:  v.CreatedAt.Format(time.RFC3339),
		Labels:     nonNil(v.Labels),
		Options:    nonNil(v.Options),
		Scope:      v.Scope,
	}
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return maps.Clone(m)
}

// record is what the metadata store keeps; the mountpoint follows from the
// root and the name, so a moved root still works.
type record struct {
	Name      string
	Driver    string
	CreatedAt time.Time
	Labels    map[string]string `json:",omitempty"`
	Options   map[string]string `json:",omitempty"`
}

// Docker's rule for local volume names.
var validName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)

// maxNameLen keeps a name a valid file and metadata id.
const maxNameLen = 200

// ValidateName checks name against Docker's rule for local volumes.
func ValidateName(name string) error {
	if len(name) > maxNameLen {
		return fmt.Errorf("volume name %.20q...: longer than %d bytes: %w", name, maxNameLen, errdefs.ErrInvalidArgument)
	}
	if !validName.MatchString(name) {
		return fmt.Errorf("%q includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path: %w",
			name, errdefs.ErrInvalidArgument)
	}
	return nil
}

// CheckDriver accepts the local driver ("" means local) and refuses
// others as dockerd refuses a plugin it does not have.
func CheckDriver(driver string) error {
	if driver == "" || driver == DriverLocal {
		return nil
	}
	// dockerd's 404 and text for a driver no plugin provides; pier has
	// only the local driver.
	return errdefs.Newf(errdefs.ErrNotFound, "error looking up volume plugin %s: plugin %q not found", driver, driver)
}

// checkOptions refuses every driver option, naming them: pier's local driver
// has no mount options (type, device, o) yet.
func checkOptions(opts map[string]string) error {
	if len(opts) == 0 {
		return nil
	}
	keys := slices.Sorted(maps.Keys(opts))
	return fmt.Errorf("volume option %s: not supported by the local driver: %w",
		strings.Join(keys, ", "), errdefs.ErrInvalidArgument)
}

// randomName returns 64 hex digits, as Docker names anonymous volumes.
func randomName() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand panics instead)
	return hex.EncodeToString(b)
}
