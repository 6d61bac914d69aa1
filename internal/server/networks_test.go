package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"testing"

	"github.com/moby/moby/api/types/network"

	"github.com/pier-engine/pier/internal/errdefs"
)

// fakeNetworks adds an in-memory network table to fakeContainers.
type fakeNetworks struct {
	fakeContainers
	nets      map[string]network.Inspect // by name
	connected map[string]string          // container → network
	filters   map[string][]string
	dups      int // NetworkCreateDuplicate calls
}

func newFakeNetworks() *fakeNetworks {
	return &fakeNetworks{
		nets:      map[string]network.Inspect{"bridge": {Network: network.Network{Name: "bridge", ID: "b1", Driver: "bridge"}}},
		connected: map[string]string{},
	}
}

func (f *fakeNetworks) get(ref string) (network.Inspect, error) {
	for _, n := range f.nets {
		if n.Name == ref || n.ID == ref {
			return n, nil
		}
	}
	return network.Inspect{}, fmt.Errorf("network %s not found: %w", ref, errdefs.ErrNotFound)
}

func (f *fakeNetworks) NetworkList(_ context.Context, filters map[string][]string) ([]network.Summary, error) {
	f.filters = filters
	var out []network.Summary
	for _, n := range f.nets {
		out = append(out, network.Summary{Network: n.Network})
	}
	return out, nil
}

func (f *fakeNetworks) NetworkInspect(_ context.Context, ref string) (network.Inspect, error) {
	return f.get(ref)
}

func (f *fakeNetworks) NetworkCreate(_ context.Context, req network.CreateRequest) (network.CreateResponse, error) {
	if _, ok := f.nets[req.Name]; ok {
		return network.CreateResponse{}, fmt.Errorf("network with name %s already exists: %w", req.Name, errdefs.ErrConflict)
	}
	n := network.Network{Name: req.Name, ID: "id-" + req.Name, Driver: "bridge"}
	if req.IPAM != nil {
		n.IPAM = *req.IPAM
	}
	f.nets[req.Name] = network.Inspect{Network: n}
	return network.CreateResponse{ID: n.ID}, nil
}

func (f *fakeNetworks) NetworkCreateDuplicate(_ context.Context, req network.CreateRequest) (network.CreateResponse, error) {
	f.dups++
	return network.CreateResponse{ID: "id-dup-" + req.Name}, nil
}

func (f *fakeNetworks) NetworkRemove(_ context.Context, ref string) error {
	n, err := f.get(ref)
	if err != nil {
		return err
	}
	for _, on := range f.connected {
		if on == n.Name {
			return fmt.Errorf("error while removing network: network %s has active endpoints: %w", n.Name, errdefs.ErrConflict)
		}
	}
	delete(f.nets, n.Name)
	return nil
}

func (f *fakeNetworks) NetworkConnect(_ context.Context, ref string, req network.ConnectRequest) error {
	n, err := f.get(ref)
	if err != nil {
		return err
	}
	if err := f.find(req.Container); err != nil {
		return err
	}
	f.connected[req.Container] = n.Name
	return nil
}

func (f *fakeNetworks) NetworkDisconnect(_ context.Context, ref string, req network.DisconnectRequest) error {
	if _, err := f.get(ref); err != nil {
		return err
	}
	delete(f.connected, req.Container)
	return nil
}

func (f *fakeNetworks) NetworkPrune(_ context.Context, filters map[string][]string) (network.PruneReport, error) {
	return network.PruneReport{NetworksDeleted: []string{"gone"}}, nil
}

func TestNetworkRoutes(t *testing.T) {
	f := newFakeNetworks()
	s := New(Config{Backend: &fakeBackend{}, Networks: f, Version: "9.8.7"})
	body := `{"Name":"mynet","Driver":"bridge","IPAM":{"Config":[{"Subnet":"10.99.0.0/24"}]}}`
	rec := doBody(t, s, "POST", "/networks/create", "application/json", body)
	var created network.CreateResponse
	if rec.Code != http.StatusCreated || json.Unmarshal(rec.Body.Bytes(), &created) != nil || created.ID != "id-mynet" {
		t.Fatalf("create = %d %s", rec.Code, rec.Body)
	}
	if got := f.nets["mynet"].IPAM.Config; len(got) != 1 || got[0].Subnet != netip.MustParsePrefix("10.99.0.0/24") {
		t.Errorf("create passed IPAM %+v", got)
	}
	if rec := doBody(t, s, "POST", "/networks/create", "application/json", body); rec.Code != http.StatusConflict {
		t.Errorf("create twice = %d %s", rec.Code, rec.Body)
	}
	if rec := doBody(t, s, "POST", "/networks/create", "application/json", "{"); rec.Code != http.StatusBadRequest {
		t.Errorf("create with a bad body = %d", rec.Code)
	}
	rec = doBody(t, s, "GET", `/networks?filters={"name":{"my":true}}`, "", "")
	var list []network.Summary
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &list) != nil || len(list) != 2 || f.filters["name"][0] != "my" {
		t.Errorf("list = %d %s, filters %v", rec.Code, rec.Body, f.filters)
	}
	var n network.Inspect
	if rec := doBody(t, s, "GET", "/networks/mynet", "", ""); rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &n) != nil || n.ID != "id-mynet" {
		t.Errorf("inspect = %d %s", rec.Code, rec.Body)
	}
	if rec := doBody(t, s, "GET", "/networks/nope", "", ""); rec.Code != http.StatusNotFound {
		t.Errorf("inspect unknown = %d", rec.Code)
	}
	if rec := doBody(t, s, "POST", "/networks/mynet/connect", "application/json", `{"Container":"c1"}`); rec.Code != http.StatusOK || f.connected["c1"] != "mynet" {
		t.Errorf("connect = %d %s", rec.Code, rec.Body)
	}
	if rec := doBody(t, s, "POST", "/networks/mynet/connect", "application/json", `{"Container":"nope"}`); rec.Code != http.StatusNotFound {
		t.Errorf("connect unknown container = %d", rec.Code)
	}
	if rec := doBody(t, s, "DELETE", "/networks/mynet", "", ""); rec.Code != http.StatusConflict {
		t.Errorf("rm while connected = %d %s", rec.Code, rec.Body)
	}
	if rec := doBody(t, s, "POST", "/networks/mynet/disconnect", "application/json", `{"Container":"c1"}`); rec.Code != http.StatusOK || f.connected["c1"] != "" {
		t.Errorf("disconnect = %d %s", rec.Code, rec.Body)
	}
	if rec := doBody(t, s, "DELETE", "/networks/mynet", "", ""); rec.Code != http.StatusNoContent {
		t.Errorf("rm = %d %s", rec.Code, rec.Body)
	}
	var report network.PruneReport
	if rec := doBody(t, s, "POST", "/networks/prune", "", ""); rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &report) != nil || report.NetworksDeleted[0] != "gone" {
		t.Errorf("prune = %d %s", rec.Code, rec.Body)
	}
}

// TestNetworkCreateCheckDuplicate: CheckDuplicate=false lets a name be
// taken twice only before API 1.44; omitted or true, or at 1.44, the name
// is checked.
func TestNetworkCreateCheckDuplicate(t *testing.T) {
	f := newFakeNetworks()
	s := New(Config{Backend: &fakeBackend{}, Networks: f, Version: "9.8.7"})
	for _, c := range []struct {
		path, body string
		dup        bool
	}{
		{"/v1.41/networks/create", `{"Name":"n1","CheckDuplicate":false}`, true},
		{"/v1.43/networks/create", `{"Name":"n2","CheckDuplicate":false}`, true},
		{"/v1.44/networks/create", `{"Name":"n3","CheckDuplicate":false}`, false},
		{"/v1.41/networks/create", `{"Name":"n4","CheckDuplicate":true}`, false},
		{"/v1.41/networks/create", `{"Name":"n5"}`, false},
	} {
		before := f.dups
		rec := doBody(t, s, "POST", c.path, "application/json", c.body)
		if rec.Code != http.StatusCreated || (f.dups > before) != c.dup {
			t.Errorf("%s %s = %d %s, duplicate allowed %v, want %v", c.path, c.body, rec.Code, rec.Body, f.dups > before, c.dup)
		}
	}
}
