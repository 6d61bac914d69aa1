package userns

import (
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// asUID runs sh -c script as uid:uid with no groups; its stdout, trimmed
// ("" when it fails).
func asUID(t *testing.T, uid int, script string) string {
	t.Helper()
	cmd := exec.Command("sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid), Groups: []uint32{}}}
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// runIn runs sh -c script in the user and UTS namespaces bound at
// user and uts, through nsenter(1).
func runIn(t *testing.T, user, uts, script string) string {
	t.Helper()
	out, err := exec.Command("nsenter", "--user="+user, "--uts="+uts, "sh", "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("nsenter: %v: %s", err, out)
	}
	return string(out)
}
