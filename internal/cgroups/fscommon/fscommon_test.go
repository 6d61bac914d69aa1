package fscommon

import (
	"math"
	"os"
	"path/filepath"
	"testing"
)

func TestParseUint(t *testing.T) {
	for in, want := range map[string]uint64{"max\n": math.MaxUint64, "42\n": 42, "-1": 0, " 7 ": 7} {
		got, err := ParseUint(in)
		if err != nil || got != want {
			t.Errorf("ParseUint(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	if _, err := ParseUint("x"); err == nil {
		t.Error("ParseUint(x) succeeded")
	}
}

func TestKeyValueAndFiles(t *testing.T) {
	dir := t.TempDir()
	if err := WriteFile(dir, "memory.events", "x"); err == nil {
		t.Error("WriteFile created a missing file")
	}
	_ = os.WriteFile(filepath.Join(dir, "memory.events"), nil, 0o644)
	if err := WriteFile(dir, "memory.events", "low 0\noom 2\noom_kill 1\nbad line here\n"); err != nil {
		t.Fatal(err)
	}
	kv, err := GetKeyValue(dir, "memory.events")
	if err != nil {
		t.Fatal(err)
	}
	if kv["oom_kill"] != 1 || kv["oom"] != 2 || len(kv) != 3 {
		t.Errorf("GetKeyValue = %v", kv)
	}
	if _, err := ReadFile(dir, "missing"); err == nil || !filepath.IsAbs(dir) {
		t.Errorf("ReadFile(missing) = %v", err)
	}
	if err := WriteFile(filepath.Join(dir, "nodir"), "f", "1"); err == nil {
		t.Error("WriteFile into a missing dir succeeded")
	}
	_ = os.WriteFile(filepath.Join(dir, "n"), []byte("12\n"), 0o644)
	if v, err := GetUint(dir, "n"); err != nil || v != 12 {
		t.Errorf("GetUint = %d, %v", v, err)
	}
}
