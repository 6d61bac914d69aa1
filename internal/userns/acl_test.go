package userns

import (
	"reflect"
	"testing"
)

func TestACLGrantRevoke(t *testing.T) {
	base := fromMode(0o700)
	got := withUser(base, 1000)
	want := []aclEntry{
		{tag: tagUserObj, perm: 7}, {tag: tagUser, perm: permX, id: 1000},
		{tag: tagGroupObj, perm: 0}, {tag: tagMask, perm: permX}, {tag: tagOther, perm: 0},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("grant uid 1000 on 0700:\n got %+v\nwant %+v", got, want)
	}
	two := withUser(got, 65536)
	if two[1].id != 1000 || two[2].id != 65536 || len(two) != 6 {
		t.Fatalf("a second uid: entries not sorted by tag then id: %+v", two)
	}
	if again := withUser(two, 1000); !reflect.DeepEqual(again, two) {
		t.Errorf("granting twice added an entry: %+v", again)
	}
	one := withoutUser(two, 65536)
	if !reflect.DeepEqual(one, want) {
		t.Errorf("revoke 65536: %+v, want %+v", one, want)
	}
	back := withoutUser(one, 1000)
	if !minimal(back) || !reflect.DeepEqual(back, base) {
		t.Errorf("revoking the last entry: %+v, want the mode's own %+v (no mask)", back, base)
	}
}

func TestACLMaskKeepsGroup(t *testing.T) {
	// pierd's root is 0710: its group keeps search through the mask.
	got := withUser(fromMode(0o710), 1000)
	if m := perm(got, tagMask); m != permX {
		t.Errorf("mask %o, want %o", m, permX)
	}
	if g := perm(got, tagGroupObj); g != permX {
		t.Errorf("group entry %o, want %o", g, permX)
	}
}

func TestACLEncoding(t *testing.T) {
	acl := withUser(fromMode(0o750), 4242)
	b := encodeACL(acl)
	if len(b) != 4+8*len(acl) {
		t.Fatalf("%d bytes for %d entries", len(b), len(acl))
	}
	back, err := decodeACL(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range acl {
		if back[i].tag != acl[i].tag || back[i].perm != acl[i].perm {
			t.Errorf("entry %d: %+v, want %+v", i, back[i], acl[i])
		}
		if acl[i].tag == tagUser && back[i].id != acl[i].id {
			t.Errorf("entry %d: uid %d, want %d", i, back[i].id, acl[i].id)
		}
		if acl[i].tag == tagUserObj && back[i].id != ^uint32(0) {
			t.Errorf("entry %d: owner entry carries id %d, want ACL_UNDEFINED_ID", i, back[i].id)
		}
	}
	for _, bad := range [][]byte{nil, {1, 0, 0, 0}, append(encodeACL(acl), 1)} {
		if _, err := decodeACL(bad); err == nil {
			t.Errorf("decode %v: no error", bad)
		}
	}
}

func TestAtLeast(t *testing.T) {
	for _, c := range []struct {
		rel  string
		want bool
	}{{"6.18.44-fc-v1300", true}, {"5.19.0", true}, {"5.18.9", false}, {"4.19.0-26-amd64", false}, {"6.1", true}, {"", false}} {
		if got := atLeast(c.rel, 5, 19); got != c.want {
			t.Errorf("atLeast(%q, 5, 19) = %v, want %v", c.rel, got, c.want)
		}
	}
}
