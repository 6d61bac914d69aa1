package cli

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/network"
)

// fakeNetworkd answers /networks as dockerd would for a fixed table and
// records the requests it was sent.
type fakeNetworkd struct {
	mu sync.Mutex
	// Guarded by mu.
	create  network.CreateRequest
	connect network.ConnectRequest
	query   string
	removed []string
}

func (f *fakeNetworkd) handler() http.Handler {
	mux := http.NewServeMux()
	nets := []network.Summary{
		{Network: network.Network{Name: "bridge", ID: strings.Repeat("b", 64), Driver: "bridge", Scope: "local", Created: time.Unix(0, 0)}},
		{Network: network.Network{Name: "mynet", ID: strings.Repeat("c", 64), Driver: "bridge", Scope: "local", Labels: map[string]string{"a": "b"}}},
	}
	mux.HandleFunc("GET /{v}/networks", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.query = r.URL.Query().Get("filters")
		f.mu.Unlock()
		json.NewEncoder(w).Encode(nets)
	})
	mux.HandleFunc("GET /{v}/networks/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != "mynet" {
			w.WriteHeader(http.StatusNotFound)
			json.NewEncoder(w).Encode(map[string]string{"message": "network " + r.PathValue("id") + " not found"})
			return
		}
		json.NewEncoder(w).Encode(network.Inspect{Network: nets[1].Network})
	})
	mux.HandleFunc("POST /{v}/networks/create", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		json.NewDecoder(r.Body).Decode(&f.create)
		f.mu.Unlock()
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(network.CreateResponse{ID: strings.Repeat("d", 64)})
	})
	mux.HandleFunc("DELETE /{v}/networks/{id}", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.removed = append(f.removed, r.PathValue("id"))
		f.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /{v}/networks/{id}/connect", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		json.NewDecoder(r.Body).Decode(&f.connect)
		f.mu.Unlock()
	})
	mux.HandleFunc("POST /{v}/networks/prune", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(network.PruneReport{NetworksDeleted: []string{"old"}})
	})
	mux.HandleFunc("/_ping", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Api-Version", "1.51")
	})
	return mux
}

func startNetworkd(t *testing.T) (string, *fakeNetworkd) {
	f := &fakeNetworkd{}
	return serveAPI(t, f.handler()), f
}

func TestNetworkVerbs(t *testing.T) {
	host, f := startNetworkd(t)
	code, out, errs := run(t, "-H", host, "network", "create", "--subnet", "10.9.0.0/24", "--label", "a=b", "-o", "k=v", "mynet")
	if code != 0 || out != strings.Repeat("d", 64)+"\n" {
		t.Fatalf("create = %d %q %q", code, out, errs)
	}
	if f.create.Name != "mynet" || f.create.Driver != "bridge" || f.create.Labels["a"] != "b" || f.create.Options["k"] != "v" ||
		f.create.IPAM == nil || f.create.IPAM.Config[0].Subnet != netip.MustParsePrefix("10.9.0.0/24") {
		t.Errorf("create sent %+v", f.create)
	}
	if code, _, errs := run(t, "-H", host, "network", "create", "--gateway", "10.9.0.1", "x"); code == 0 || !strings.Contains(errs, "corresponding subnet") {
		t.Errorf("create --gateway without --subnet = %d %q", code, errs)
	}
	code, out, _ = run(t, "-H", host, "network", "ls", "--filter", "driver=bridge")
	want := "NETWORK ID     NAME      DRIVER    SCOPE\nbbbbbbbbbbbb   bridge    bridge    local\ncccccccccccc   mynet     bridge    local\n"
	if code != 0 || out != want || !strings.Contains(f.query, "driver") {
		t.Errorf("ls = %d %q (filters %q), want %q", code, out, f.query, want)
	}
	if code, out, _ := run(t, "-H", host, "network", "ls", "-q", "--no-trunc"); code != 0 || out != strings.Repeat("b", 64)+"\n"+strings.Repeat("c", 64)+"\n" {
		t.Errorf("ls -q --no-trunc = %d %q", code, out)
	}
	if code, out, _ := run(t, "-H", host, "network", "ls", "--format", "{{.Name}} {{.Labels}}"); code != 0 || out != "bridge \nmynet a=b\n" {
		t.Errorf("ls --format = %d %q", code, out)
	}
	code, out, _ = run(t, "-H", host, "network", "inspect", "mynet")
	var got []network.Inspect
	if code != 0 || json.Unmarshal([]byte(out), &got) != nil || len(got) != 1 || got[0].Name != "mynet" {
		t.Errorf("inspect = %d %q", code, out)
	}
	if code, out, _ := run(t, "-H", host, "network", "inspect", "-f", "{{.Driver}}", "mynet"); code != 0 || out != "bridge\n" {
		t.Errorf("inspect -f = %d %q", code, out)
	}
	if code, _, errs := run(t, "-H", host, "network", "inspect", "nope"); code != ExitFailure || !strings.Contains(errs, "network nope not found") {
		t.Errorf("inspect nope = %d %q", code, errs)
	}
	code, _, errs = run(t, "-H", host, "network", "connect", "--alias", "db", "--ip", "10.9.0.7", "--driver-opt", "pier.bandwidth.egress=1mbit", "mynet", "web")
	es := f.connect.EndpointConfig
	if code != 0 || f.connect.Container != "web" || es == nil || es.Aliases[0] != "db" ||
		es.IPAMConfig.IPv4Address != netip.MustParseAddr("10.9.0.7") || es.DriverOpts["pier.bandwidth.egress"] != "1mbit" {
		t.Errorf("connect = %d %q, sent %+v %+v", code, errs, f.connect, es)
	}
	if code, out, _ := run(t, "-H", host, "network", "rm", "mynet", "other"); code != 0 || out != "mynet\nother\n" || len(f.removed) != 2 {
		t.Errorf("rm = %d %q %v", code, out, f.removed)
	}
	if code, out, _ := run(t, "-H", host, "network", "prune", "-f"); code != 0 || out != "Deleted Networks:\nold\n" {
		t.Errorf("prune = %d %q", code, out)
	}
}

// TestNetworkIPv6Flags: create --ipv6 with an IPv4 and an IPv6 subnet,
// each gateway going with the subnet that holds it, and connect --ip6.
func TestNetworkIPv6Flags(t *testing.T) {
	host, f := startNetworkd(t)
	code, _, errs := run(t, "-H", host, "network", "create", "--ipv6", "--subnet", "10.9.0.0/24", "--subnet", "fd42::/64",
		"--gateway", "fd42::ff", "--gateway", "10.9.0.254", "six")
	if code != 0 {
		t.Fatalf("create = %d %q", code, errs)
	}
	c := f.create
	if c.EnableIPv6 == nil || !*c.EnableIPv6 || c.IPAM == nil || len(c.IPAM.Config) != 2 ||
		c.IPAM.Config[0].Gateway != netip.MustParseAddr("10.9.0.254") || c.IPAM.Config[1].Gateway != netip.MustParseAddr("fd42::ff") {
		t.Errorf("create sent %+v (IPAM %+v)", c, c.IPAM)
	}
	if code, _, errs := run(t, "-H", host, "network", "create", "--subnet", "fd42::/64", "--gateway", "fd43::1", "bad"); code == 0 || !strings.Contains(errs, "no matching subnet") {
		t.Errorf("a gateway in no subnet = %d %q", code, errs)
	}
	code, _, errs = run(t, "-H", host, "network", "connect", "--ip6", "fd42::7", "six", "web")
	if es := f.connect.EndpointConfig; code != 0 || es == nil || es.IPAMConfig == nil || es.IPAMConfig.IPv6Address != netip.MustParseAddr("fd42::7") {
		t.Errorf("connect --ip6 = %d %q, sent %+v", code, errs, es)
	}
	if code, _, errs := run(t, "-H", host, "network", "connect", "--ip6", "10.9.0.7", "six", "web"); code == 0 || !strings.Contains(errs, "invalid IPv6 address") {
		t.Errorf("connect --ip6 of an IPv4 address = %d %q", code, errs)
	}
}
