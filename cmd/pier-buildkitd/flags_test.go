package main

import (
	"reflect"
	"testing"

	"github.com/moby/buildkit/client"
)

// TestBuilderFlags: pierd's daemon.json builder settings reach BuildKit's
// config: entitlements (none for "", network.host by default) and the
// cache's collection (off, BuildKit's default, or the sizes given).
func TestBuilderFlags(t *testing.T) {
	base := []string{"--root", "/r", "--runtime", "/rt", "--socket", "/s", "--store", "/st"}
	for _, c := range []struct {
		args []string
		ents []string
		gc   []client.PruneInfo
	}{
		{nil, []string{"network.host"}, nil},
		{[]string{"--entitlements", "", "--gc=false"}, []string{}, []client.PruneInfo{}},
		{[]string{"--entitlements", "network.host,security.insecure", "--gc-reserved-space", "10", "--gc-min-free-space", "20"},
			[]string{"network.host", "security.insecure"}, []client.PruneInfo{{ReservedSpace: 10, MinFreeSpace: 20}}},
	} {
		o, err := parseFlags(append(base, c.args...))
		if err != nil {
			t.Fatal(err)
		}
		if got := o.entitlementList(); !reflect.DeepEqual(got, c.ents) {
			t.Errorf("%v: entitlements %q, want %q", c.args, got, c.ents)
		}
		if got := o.gcPolicy(); !reflect.DeepEqual(got, c.gc) {
			t.Errorf("%v: gc policy %+v, want %+v", c.args, got, c.gc)
		}
	}
}
