package buildkit

import (
	"slices"
	"testing"
)

// TestSolveRequest: a version-2 build goes into BuildKit's build history
// only when asked (V2History), exports to pier's store under its tags,
// and asks for the host network's entitlement only with --network host.
func TestSolveRequest(t *testing.T) {
	req := BuildRequest{SessionID: "s1", Tags: []string{"a:1", "b:2"}, Network: "host"}
	sr := req.solveRequest("ref1", false)
	if !sr.Internal {
		t.Error("version-2 build recorded in the history by default")
	}
	if req.solveRequest("ref1", true).Internal {
		t.Error("V2History: build not recorded")
	}
	if sr.Ref != "ref1" || sr.Session != "s1" || sr.Frontend != "dockerfile.v0" {
		t.Errorf("request %s %s %s", sr.Ref, sr.Session, sr.Frontend)
	}
	if len(sr.Exporters) != 1 || sr.Exporters[0].Type != exporterMoby || sr.Exporters[0].Attrs["name"] != "a:1,b:2" {
		t.Errorf("exporters %v", sr.Exporters)
	}
	if !slices.Equal(sr.Entitlements, []string{"network.host"}) {
		t.Errorf("entitlements %v with --network host", sr.Entitlements)
	}
	if got := (BuildRequest{Network: "none"}).solveRequest("r", false).Entitlements; len(got) != 0 {
		t.Errorf("entitlements %v with --network none", got)
	}
}
