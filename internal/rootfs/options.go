package rootfs

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// flagOption is a mount option that sets or clears an MS_* flag.
type flagOption struct {
	clear bool
	flag  uintptr
}

var flagOptions = map[string]flagOption{
	"defaults":      {false, 0},
	"ro":            {false, unix.MS_RDONLY},
	"rw":            {true, unix.MS_RDONLY},
	"nosuid":        {false, unix.MS_NOSUID},
	"suid":          {true, unix.MS_NOSUID},
	"nodev":         {false, unix.MS_NODEV},
	"dev":           {true, unix.MS_NODEV},
	"noexec":        {false, unix.MS_NOEXEC},
	"exec":          {true, unix.MS_NOEXEC},
	"sync":          {false, unix.MS_SYNCHRONOUS},
	"async":         {true, unix.MS_SYNCHRONOUS},
	"dirsync":       {false, unix.MS_DIRSYNC},
	"remount":       {false, unix.MS_REMOUNT},
	"mand":          {false, unix.MS_MANDLOCK},
	"nomand":        {true, unix.MS_MANDLOCK},
	"noatime":       {false, unix.MS_NOATIME},
	"atime":         {true, unix.MS_NOATIME},
	"nodiratime":    {false, unix.MS_NODIRATIME},
	"diratime":      {true, unix.MS_NODIRATIME},
	"relatime":      {false, unix.MS_RELATIME},
	"norelatime":    {true, unix.MS_RELATIME},
	"strictatime":   {false, unix.MS_STRICTATIME},
	"nostrictatime": {true, unix.MS_STRICTATIME},
	"lazytime":      {false, unix.MS_LAZYTIME},
	"nolazytime":    {true, unix.MS_LAZYTIME},
	"silent":        {false, unix.MS_SILENT},
	"loud":          {true, unix.MS_SILENT},
	"iversion":      {false, unix.MS_I_VERSION},
	"noiversion":    {true, unix.MS_I_VERSION},
	"bind":          {false, unix.MS_BIND},
	"rbind":         {false, unix.MS_BIND | unix.MS_REC},
}

// propagationOptions each take a mount(2) call of their own: the kernel
// refuses them mixed with other flags.
var propagationOptions = map[string]uintptr{
	"private":     unix.MS_PRIVATE,
	"rprivate":    unix.MS_PRIVATE | unix.MS_REC,
	"shared":      unix.MS_SHARED,
	"rshared":     unix.MS_SHARED | unix.MS_REC,
	"slave":       unix.MS_SLAVE,
	"rslave":      unix.MS_SLAVE | unix.MS_REC,
	"unbindable":  unix.MS_UNBINDABLE,
	"runbindable": unix.MS_UNBINDABLE | unix.MS_REC,
}

// attrOption is a recursive mount attribute (runtime-spec 1.1 "rro" and
// friends), applied with mount_setattr(AT_RECURSIVE).
type attrOption struct {
	clear bool
	attr  uint64
}

var attrOptions = map[string]attrOption{
	"rro":          {false, unix.MOUNT_ATTR_RDONLY},
	"rrw":          {true, unix.MOUNT_ATTR_RDONLY},
	"rnosuid":      {false, unix.MOUNT_ATTR_NOSUID},
	"rsuid":        {true, unix.MOUNT_ATTR_NOSUID},
	"rnodev":       {false, unix.MOUNT_ATTR_NODEV},
	"rdev":         {true, unix.MOUNT_ATTR_NODEV},
	"rnoexec":      {false, unix.MOUNT_ATTR_NOEXEC},
	"rexec":        {true, unix.MOUNT_ATTR_NOEXEC},
	"rnodiratime":  {false, unix.MOUNT_ATTR_NODIRATIME},
	"rdiratime":    {true, unix.MOUNT_ATTR_NODIRATIME},
	"rnosymfollow": {false, unix.MOUNT_ATTR_NOSYMFOLLOW},
	"rsymfollow":   {true, unix.MOUNT_ATTR_NOSYMFOLLOW},
	// The atime modes are one field: setting one clears the others.
	"rrelatime":    {false, unix.MOUNT_ATTR_RELATIME},
	"rnoatime":     {false, unix.MOUNT_ATTR_NOATIME},
	"rstrictatime": {false, unix.MOUNT_ATTR_STRICTATIME},
}

// keylessData lists, per filesystem type we know, the options without "="
// that are the filesystem's own and pass through as data. For these types
// any other bare word is a typo and is refused; unknown types pass all
// unknown words through, since only their driver knows them.
var keylessData = map[string]map[string]bool{
	"bind":    {},
	"proc":    {},
	"sysfs":   {},
	"mqueue":  {},
	"devpts":  {"newinstance": true},
	"tmpfs":   {"noswap": true, "inode32": true, "inode64": true, "usrquota": true, "grpquota": true, "quota": true},
	"overlay": {"userxattr": true, "volatile": true},
	"cgroup":  {},
	"cgroup2": {"nsdelegate": true, "memory_recursiveprot": true, "memory_localevents": true, "favordynmods": true},
}

// unsupportedOptions are valid elsewhere but not (yet) here; refusing them
// beats silently ignoring them.
var unsupportedOptions = map[string]string{
	"tmpcopyup": "copying the image's content into a tmpfs is not supported",
	"idmap":     "id-mapped mounts are not supported",
	"ridmap":    "id-mapped mounts are not supported",
}

// parsedOptions is what a mount's option list means to mount(2).
type parsedOptions struct {
	flags       uintptr
	propagation []uintptr
	attr        *unix.MountAttr
	data        []string
}

func parseOptions(fstype string, opts []string) (parsedOptions, error) {
	var p parsedOptions
	known, typeKnown := keylessData[fstype]
	for _, o := range opts {
		if f, ok := flagOptions[o]; ok {
			if f.clear {
				p.flags &^= f.flag
			} else {
				p.flags |= f.flag
			}
			continue
		}
		if f, ok := propagationOptions[o]; ok {
			p.propagation = append(p.propagation, f)
			continue
		}
		if a, ok := attrOptions[o]; ok {
			p.attr = addAttr(p.attr, a)
			continue
		}
		if why, ok := unsupportedOptions[o]; ok {
			return p, fmt.Errorf("mount option %q: %s", o, why)
		}
		if strings.Contains(o, "=") || known[o] || !typeKnown {
			p.data = append(p.data, o)
			continue
		}
		return p, fmt.Errorf("unknown mount option %q for type %s", o, fstype)
	}
	return p, nil
}

func addAttr(m *unix.MountAttr, a attrOption) *unix.MountAttr {
	if m == nil {
		m = &unix.MountAttr{}
	}
	switch {
	case a.attr&unix.MOUNT_ATTR__ATIME == a.attr:
		// RELATIME is 0 inside the ATIME field: clear the field, set the mode.
		m.Attr_clr |= unix.MOUNT_ATTR__ATIME
		m.Attr_set = m.Attr_set&^unix.MOUNT_ATTR__ATIME | a.attr
	case a.clear:
		m.Attr_clr |= a.attr
		m.Attr_set &^= a.attr
	default:
		m.Attr_set |= a.attr
		m.Attr_clr &^= a.attr
	}
	return m
}
