package daemon

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pier-engine/pier/internal/errdefs"
)

// TestBuilderConfig: daemon.json's "builder" key as dockerd writes it
// (any case, sizes as strings or numbers); what pier does not do is
// refused by name, not ignored.
func TestBuilderConfig(t *testing.T) {
	load := func(js string) (Config, error) {
		t.Helper()
		p := filepath.Join(t.TempDir(), "daemon.json")
		if err := os.WriteFile(p, []byte(js), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := LoadConfig(p, DefaultConfig())
		if err != nil {
			return c, err
		}
		return c, c.Validate()
	}
	c, err := load(`{"builder": {"Entitlements": {"security-insecure": true}, "gc": {"enabled": false, "defaultKeepStorage": "1GB", "defaultMinFreeSpace": 1000}}}`)
	if err != nil {
		t.Fatal(err)
	}
	host, insecure := c.Builder.Entitlements.Granted()
	if !host || !insecure {
		t.Errorf("granted network.host %v, security.insecure %v; want both", host, insecure)
	}
	if g := c.Builder.GC; g.Enabled == nil || *g.Enabled || g.DefaultKeepStorage != 1<<30 || g.DefaultMinFreeSpace != 1000 {
		t.Errorf("gc = %+v", g)
	}
	c, err = load(`{"builder": {"entitlements": {"network-host": false}}}`)
	if err != nil {
		t.Fatal(err)
	}
	if host, insecure := c.Builder.Entitlements.Granted(); host || insecure {
		t.Errorf("network-host false: granted %v %v, want neither", host, insecure)
	}
	if host, insecure := (BuilderEntitlements{}).Granted(); !host || insecure {
		t.Errorf("no builder key: granted %v %v, want network.host alone (dockerd's default)", host, insecure)
	}
	for js, want := range map[string]string{
		`{"builder": {"gc": {"policy": [{"keepStorage": "1GB"}]}}}`:                     "builder.gc.policy",
		`{"builder": {"history": {"maxAge": "48h"}}}`:                                   "builder.history",
		`{"builder": {"gc": {"defaultKeepStorage": "1GB", "defaultReservedSpace": 5}}}`: "defaultKeepStorage",
		`{"builder": {"gc": {"defaultMaxUsedSpace": "lots"}}}`:                          "lots",
		`{"builder": {"gc": {"defaultMaxUsedSpace": -1}}}`:                              "negative",
		`{"builder": {"entitlements": {"device": true}}}`:                               "device",
	} {
		_, err := load(js)
		if err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("%s: error %v, want an invalid-argument error naming %q", js, err, want)
		}
	}
}
