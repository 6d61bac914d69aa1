package nsenter

import (
	"bytes"
	"testing"
)

func TestEncode(t *testing.T) {
	b := Bootstrap{CloneFlags: 0x20000, Join: []Join{{Type: 0x40000000, Path: "/proc/1/ns/net"}},
		Cgroups: []Cgroup{{Kind: CgroupTasks, Path: "/t"}}, Timens: "monotonic 1 0\n"}
	raw, err := b.Encode()
	if err != nil {
		t.Fatal(err)
	}
	want := 28 + 8 + len("/proc/1/ns/net") + 8 + len("/t") + len(b.Timens)
	if len(raw) != want {
		t.Fatalf("encoded %d bytes, want %d", len(raw), want)
	}
	if raw[20] != 1 {
		t.Errorf("header's cgroup count is %d, want 1", raw[20])
	}
	if !bytes.HasSuffix(raw, []byte("/proc/1/ns/net\x01\x00\x00\x00\x02\x00\x00\x00/tmonotonic 1 0\n")) {
		t.Errorf("payload order wrong: %q", raw[28:])
	}
	tooMany := Bootstrap{Join: make([]Join, MaxJoin+1)}
	if _, err := tooMany.Encode(); err == nil {
		t.Error("encoding more than MaxJoin namespaces succeeded")
	}
}

func TestReadReplyError(t *testing.T) {
	raw := make([]byte, ReplySize)
	raw[0] = MsgError
	raw[8] = 2 // ENOENT
	copy(raw[12:], "open namespace /x")
	r, err := ReadReply(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if got := r.AsError().Error(); got != "open namespace /x: no such file or directory" {
		t.Errorf("error text %q", got)
	}
}
