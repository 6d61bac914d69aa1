package userns

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sort"

	"golang.org/x/sys/unix"
)

// The engine's directories are 0700 (its root 0710): the root of a pod's
// user namespace, an unprivileged host uid, could not reach a container's
// rootfs, its /etc/hosts or the pod's /dev/shm through them. Instead of
// widening them to everyone (CVE-2021-41091), an access ACL entry gives
// that one uid search (x) alone: it may pass, not list.

const aclXattr = "system.posix_acl_access"

// ACL tags and the xattr's version (linux/posix_acl_xattr.h).
const (
	aclVersion  = 2
	tagUserObj  = 0x01
	tagUser     = 0x02
	tagGroupObj = 0x04
	tagGroup    = 0x08
	tagMask     = 0x10
	tagOther    = 0x20
	permX       = 1
)

type aclEntry struct {
	tag  uint16
	perm uint16
	id   uint32
}

// GrantSearch lets host uid search dir (x), adding an ACL entry for it.
func GrantSearch(dir string, uid uint32) error {
	return editACL(dir, func(acl []aclEntry) []aclEntry { return withUser(acl, uid) })
}

// RevokeSearch removes what GrantSearch added; a directory that is gone,
// or has no entry for uid, is not an error.
func RevokeSearch(dir string, uid uint32) error {
	err := editACL(dir, func(acl []aclEntry) []aclEntry { return withoutUser(acl, uid) })
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

func editACL(dir string, edit func([]aclEntry) []aclEntry) error {
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return fmt.Errorf("acl %s: %w", dir, &os.PathError{Op: "stat", Path: dir, Err: err})
	}
	buf := make([]byte, 512)
	n, err := unix.Getxattr(dir, aclXattr, buf)
	var acl []aclEntry
	plain := errors.Is(err, unix.ENODATA)
	switch {
	case plain:
		acl = fromMode(st.Mode)
	case err != nil:
		return fmt.Errorf("acl %s: getxattr: %w", dir, err)
	default:
		if acl, err = decodeACL(buf[:n]); err != nil {
			return fmt.Errorf("acl %s: %w", dir, err)
		}
	}
	acl = edit(acl)
	if minimal(acl) && plain {
		return nil // nothing was granted here
	}
	if minimal(acl) {
		// Back to plain mode bits: the group bits are the group entry
		// again, not the mask.
		mode := st.Mode&0o7000 | uint32(perm(acl, tagUserObj))<<6 | uint32(perm(acl, tagGroupObj))<<3 | uint32(perm(acl, tagOther))
		if err := unix.Chmod(dir, mode); err != nil {
			return fmt.Errorf("acl %s: chmod: %w", dir, err)
		}
		if err := unix.Removexattr(dir, aclXattr); err != nil && !errors.Is(err, unix.ENODATA) {
			return fmt.Errorf("acl %s: removexattr: %w", dir, err)
		}
		return nil
	}
	if err := unix.Setxattr(dir, aclXattr, encodeACL(acl), 0); err != nil {
		return fmt.Errorf("acl %s: setxattr: %w", dir, err)
	}
	return nil
}

// fromMode is the ACL that the mode bits alone are.
func fromMode(mode uint32) []aclEntry {
	return []aclEntry{
		{tag: tagUserObj, perm: uint16(mode >> 6 & 7)},
		{tag: tagGroupObj, perm: uint16(mode >> 3 & 7)},
		{tag: tagOther, perm: uint16(mode & 7)},
	}
}

func perm(acl []aclEntry, tag uint16) uint16 {
	for _, e := range acl {
		if e.tag == tag {
			return e.perm
		}
	}
	return 0
}

// minimal says acl has no named entries: the mode bits say it all.
func minimal(acl []aclEntry) bool {
	for _, e := range acl {
		if e.tag == tagUser || e.tag == tagGroup {
			return false
		}
	}
	return true
}

func withUser(acl []aclEntry, uid uint32) []aclEntry {
	out := []aclEntry{}
	found := false
	for _, e := range acl {
		if e.tag == tagUser && e.id == uid {
			e.perm |= permX
			found = true
		}
		out = append(out, e)
	}
	if !found {
		out = append(out, aclEntry{tag: tagUser, perm: permX, id: uid})
	}
	return withMask(out)
}

func withoutUser(acl []aclEntry, uid uint32) []aclEntry {
	out := []aclEntry{}
	for _, e := range acl {
		if e.tag != tagUser || e.id != uid {
			out = append(out, e)
		}
	}
	return withMask(out)
}

// withMask sets the mask to the union of the group class's entries, as
// setfacl does, and sorts the entries as the kernel requires.
func withMask(acl []aclEntry) []aclEntry {
	var mask uint16
	out := acl[:0:0]
	for _, e := range acl {
		switch e.tag {
		case tagMask:
			continue
		case tagUser, tagGroup, tagGroupObj:
			mask |= e.perm
		}
		out = append(out, e)
	}
	if !minimal(out) {
		out = append(out, aclEntry{tag: tagMask, perm: mask})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].tag != out[j].tag {
			return out[i].tag < out[j].tag
		}
		return out[i].id < out[j].id
	})
	return out
}

func encodeACL(acl []aclEntry) []byte {
	b := binary.LittleEndian.AppendUint32(nil, aclVersion)
	for _, e := range acl {
		id := e.id
		if e.tag != tagUser && e.tag != tagGroup {
			id = ^uint32(0) // ACL_UNDEFINED_ID
		}
		b = binary.LittleEndian.AppendUint16(b, e.tag)
		b = binary.LittleEndian.AppendUint16(b, e.perm)
		b = binary.LittleEndian.AppendUint32(b, id)
	}
	return b
}

func decodeACL(b []byte) ([]aclEntry, error) {
	if len(b) < 4 || (len(b)-4)%8 != 0 || binary.LittleEndian.Uint32(b) != aclVersion {
		return nil, fmt.Errorf("%s: malformed (%d bytes)", aclXattr, len(b))
	}
	var acl []aclEntry
	for i := 4; i < len(b); i += 8 {
		acl = append(acl, aclEntry{
			tag: binary.LittleEndian.Uint16(b[i:]), perm: binary.LittleEndian.Uint16(b[i+2:]), id: binary.LittleEndian.Uint32(b[i+4:]),
		})
	}
	return acl, nil
}
