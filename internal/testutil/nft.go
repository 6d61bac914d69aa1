package testutil

import (
	"os/exec"
	"strings"
)

// nftTables lists nftables tables whose name mentions pier; none when the
// nft tool is absent.
func nftTables() map[string]bool {
	out := map[string]bool{}
	if _, err := exec.LookPath("nft"); err != nil {
		return out
	}
	b, err := exec.Command("nft", "list", "tables").Output()
	if err != nil {
		return out
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, "pier") {
			out[strings.TrimSpace(line)] = true
		}
	}
	return out
}
