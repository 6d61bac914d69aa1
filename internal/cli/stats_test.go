package cli

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
)

// startFakeStats serves stats and update for container "s" and keeps the
// last update body.
func startFakeStats(t *testing.T, update *container.UpdateConfig) string {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_ping", func(w http.ResponseWriter, _ *http.Request) { w.Header().Set("Api-Version", "1.51") })
	mux.HandleFunc("GET /containers/{id}/stats", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != "s" {
			apiError(w, http.StatusNotFound, "No such container: "+r.PathValue("id"))
			return
		}
		json.NewEncoder(w).Encode(container.StatsResponse{ID: "0123456789abcdef", Name: "/s",
			MemoryStats: container.MemoryStats{Usage: 16 << 20, Limit: 64 << 20}, PidsStats: container.PidsStats{Current: 3},
			Networks: map[string]container.NetworkStats{"eth0": {RxBytes: 1500, TxBytes: 648}, "eth1": {RxBytes: 500}},
			BlkioStats: container.BlkioStats{IoServiceBytesRecursive: []container.BlkioStatEntry{
				{Major: 8, Op: "Read", Value: 4096}, {Major: 8, Op: "Write", Value: 2 << 20}, {Major: 8, Op: "Total", Value: 1}}}})
	})
	mux.HandleFunc("POST /containers/{id}/update", func(w http.ResponseWriter, r *http.Request) {
		json.NewDecoder(r.Body).Decode(update)
		json.NewEncoder(w).Encode(container.UpdateResponse{Warnings: []string{}})
	})
	return serveAPI(t, unversioned(mux))
}

func TestStatsNoStream(t *testing.T) {
	host := startFakeStats(t, &container.UpdateConfig{})
	code, out, errs := run(t, "-H", host, "stats", "--no-stream", "s")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 2 {
		t.Fatalf("stats = %d %q %s", code, out, errs)
	}
	if got := strings.Join(strings.Fields(lines[0]), " "); got != "CONTAINER ID NAME CPU % MEM USAGE / LIMIT MEM % NET I/O BLOCK I/O PIDS" {
		t.Errorf("header %q", got)
	}
	if got := strings.Join(strings.Fields(lines[1]), " "); got != "0123456789ab s 0.00% 16MiB / 64MiB 25.00% 2kB / 648B 4.1kB / 2.1MB 3" {
		t.Errorf("row %q", got)
	}
	if code, _, _ := run(t, "-H", host, "stats", "--no-stream", "nope"); code == 0 {
		t.Error("stats of an unknown container succeeded")
	}
}

func TestUpdateCLI(t *testing.T) {
	var u container.UpdateConfig
	host := startFakeStats(t, &u)
	code, out, errs := run(t, "-H", host, "update", "-m", "64m", "--memory-swap", "64m", "--cpus", "1.5", "--pids-limit", "9", "s")
	if code != 0 || out != "s\n" {
		t.Fatalf("update = %d %q %s", code, out, errs)
	}
	if u.Memory != 64<<20 || u.MemorySwap != 64<<20 || u.NanoCPUs != 1.5e9 || u.PidsLimit == nil || *u.PidsLimit != 9 {
		t.Errorf("sent %+v", u.Resources)
	}
	if code, _, _ := run(t, "-H", host, "update", "-m", "lots", "s"); code == 0 {
		t.Error("update -m lots succeeded")
	}
}
