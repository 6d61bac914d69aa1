package daemon

import (
	"encoding/json"
	"fmt"
	"strconv"

	units "github.com/docker/go-units"

	"github.com/pier-engine/pier/internal/errdefs"
)

// BuilderConfig is daemon.json's "builder" key, as dockerd reads it:
// BuildKit's entitlements and its cache's garbage collection.
type BuilderConfig struct {
	Entitlements BuilderEntitlements `json:"entitlements"`
	GC           BuilderGC           `json:"gc"`
	// History (dockerd's build-history limits) is accepted and refused
	// by Validate unless empty, so that a daemon.json written for
	// dockerd says what pier does not do instead of failing to parse.
	History json.RawMessage `json:"history,omitempty"`
}

// BuilderEntitlements are what a build may ask for with `--allow`:
// network.host unless network-host is false (dockerd's default), and
// security.insecure (RUN --security=insecure) only when
// security-insecure is true.
type BuilderEntitlements struct {
	NetworkHost      *bool `json:"network-host,omitempty"`
	SecurityInsecure *bool `json:"security-insecure,omitempty"`
}

// BuilderGC is dockerd's builder.gc. Enabled false turns BuildKit's
// automatic collection off; the default* limits replace pier's default
// policy (keep the cache under 2 GB); defaultKeepStorage is dockerd's
// old name of defaultReservedSpace. Per-filter policies are refused.
type BuilderGC struct {
	Enabled              *bool           `json:"enabled,omitempty"`
	DefaultKeepStorage   ByteSize        `json:"defaultKeepStorage,omitempty"`
	DefaultReservedSpace ByteSize        `json:"defaultReservedSpace,omitempty"`
	DefaultMaxUsedSpace  ByteSize        `json:"defaultMaxUsedSpace,omitempty"`
	DefaultMinFreeSpace  ByteSize        `json:"defaultMinFreeSpace,omitempty"`
	Policy               json.RawMessage `json:"policy,omitempty"`
}

// ByteSize is a size given as a number of bytes or a string such as
// "20GB" (dockerd's form).
type ByteSize int64

func (s *ByteSize) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch v := v.(type) {
	case float64:
		*s = ByteSize(v)
	case string:
		n, err := units.RAMInBytes(v)
		if err != nil {
			return fmt.Errorf("size %q: %w", v, err)
		}
		*s = ByteSize(n)
	default:
		return fmt.Errorf("size %s: want a number of bytes or a string like \"20GB\"", b)
	}
	if *s < 0 {
		return fmt.Errorf("size %s is negative", b)
	}
	return nil
}

func (s ByteSize) String() string { return strconv.FormatInt(int64(s), 10) }

// validate refuses the builder keys pier accepts but does not do.
func (b *BuilderConfig) validate() error {
	if b == nil {
		return nil
	}
	if len(b.GC.Policy) > 0 && string(b.GC.Policy) != "null" && string(b.GC.Policy) != "[]" {
		return fmt.Errorf("builder.gc.policy is not supported (use builder.gc.defaultKeepStorage, defaultMaxUsedSpace, defaultReservedSpace, defaultMinFreeSpace): %w", errdefs.ErrInvalidArgument)
	}
	if len(b.History) > 0 && string(b.History) != "null" && string(b.History) != "{}" {
		return fmt.Errorf("builder.history is not supported (BuildKit keeps its default history limits): %w", errdefs.ErrInvalidArgument)
	}
	if b.GC.DefaultKeepStorage != 0 && b.GC.DefaultReservedSpace != 0 {
		return fmt.Errorf("builder.gc: defaultKeepStorage is the old name of defaultReservedSpace, give one: %w", errdefs.ErrInvalidArgument)
	}
	return nil
}

// Granted reports whether network.host and security.insecure may be
// asked for.
func (e BuilderEntitlements) Granted() (networkHost, securityInsecure bool) {
	return e.NetworkHost == nil || *e.NetworkHost, e.SecurityInsecure != nil && *e.SecurityInsecure
}
