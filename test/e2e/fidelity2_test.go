package e2e_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestNetworkCustomGateway: a network created with a gateway other than the
// subnet's first address (docker network create --gateway) gives its bridge
// that address, routes its containers through it, and hands the first
// address to a container, as dockerd does.
func TestNetworkCustomGateway(t *testing.T) {
	d := newPierd(t, "busybox")
	dk := dockerOn(t, d)
	dk("network", "create", "--subnet", "10.236.9.0/24", "--gateway", "10.236.9.254", "gwnet")
	if gw := (dk("network", "inspect", "-f", "{{(index .IPAM.Config 0).Gateway}}", "gwnet")); gw != "10.236.9.254" {
		t.Errorf("inspect gateway = %q", gw)
	}
	// An ip range and an auxiliary address narrow what containers get.
	dk("network", "create", "--subnet", "10.236.12.0/24", "--ip-range", "10.236.12.64/30", "--aux-address", "r=10.236.12.64", "ranged")
	if got := dk("network", "inspect", "-f", "{{range .IPAM.Config}}{{.IPRange}} {{.AuxiliaryAddresses}}{{end}}", "ranged"); got != "10.236.12.64/30 map[r:10.236.12.64]" {
		t.Errorf("inspect ranged = %q", got)
	}
	if got := dk("run", "--rm", "--network", "ranged", "busybox", "sh", "-c", "ip -4 -o addr show eth0"); !strings.Contains(got, "inet 10.236.12.65/24") {
		t.Errorf("address on the ranged network: %s, want 10.236.12.65", got)
	}
	dk("network", "rm", "ranged")
	out := dk("run", "--rm", "--network", "gwnet", "busybox", "sh", "-c", "ip -4 route; ip -4 -o addr show eth0; ping -c1 -W2 10.236.9.254 >/dev/null && echo pong")
	if !strings.Contains(out, "default via 10.236.9.254") || !strings.Contains(out, "inet 10.236.9.1/24") || !strings.Contains(out, "pong") {
		t.Errorf("in the container:\n%s\nwant the default route via 10.236.9.254, address 10.236.9.1, and the gateway answering", out)
	}
	if code, _, errs := run(t, dockers[0], "-H", d.host, "network", "create", "--subnet", "10.236.10.0/24", "--gateway", "10.236.11.1", "badgw"); code == 0 || !strings.Contains(errs, "10.236.11.1") {
		t.Errorf("gateway outside the subnet = %d %s", code, errs)
	}
	dk("network", "rm", "gwnet")
}

// TestCommitLegacyInspect: a committed image's inspect before API 1.45
// carries the container's id and config and the parent image, as dockerd's
// did (docker-py's commit tests read them); from 1.45 on it does not.
func TestCommitLegacyInspect(t *testing.T) {
	d := newPierd(t, "busybox")
	dk := dockerOn(t, d)
	ctr := dk("create", "--network", "none", "busybox", "touch", "/test")
	dk("start", "-a", ctr)
	img := dk("commit", "-c", "EXPOSE 8000", ctr)
	defer dk("rmi", img)
	defer dk("rm", ctr)
	busybox := dk("image", "inspect", "-f", "{{.Id}}", "busybox")
	inspect := func(version string) map[string]json.RawMessage {
		t.Helper()
		resp, err := d.get("/" + version + "/images/" + img + "/json")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]json.RawMessage
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
			t.Fatalf("inspect at %s = %d, %v", version, resp.StatusCode, err)
		}
		return out
	}
	old := inspect("v1.41")
	var cc struct {
		Image string
		Cmd   []string
	}
	var container, parent string
	_ = json.Unmarshal(old["Container"], &container)
	_ = json.Unmarshal(old["Parent"], &parent)
	if err := json.Unmarshal(old["ContainerConfig"], &cc); err != nil || cc.Image != "busybox" || strings.Join(cc.Cmd, " ") != "touch /test" ||
		container != ctr || parent != busybox {
		t.Errorf("at 1.41: Container %q (want %s), Parent %q (want %s), ContainerConfig %s", container, ctr, parent, busybox, old["ContainerConfig"])
	}
	if now := inspect("v1.45"); now["ContainerConfig"] != nil || now["Container"] != nil {
		t.Errorf("at 1.45 inspect still has Container %s, ContainerConfig %s", now["Container"], now["ContainerConfig"])
	}
}
