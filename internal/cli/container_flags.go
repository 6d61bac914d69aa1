package cli

import (
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/docker/go-units"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
)

// The pflag.Value types below check a flag's value when it is parsed, so a
// bad value fails as docker's does: `invalid argument "X" for "--flag" flag:
// why`, exit 125, before anything is sent to the daemon.

// bytesValue is a size like docker's "bytes" flags: 512m, 1g, or a plain
// number of bytes. allowUnlimited also takes "-1" (--memory-swap).
type bytesValue struct {
	n              int64
	allowUnlimited bool
}

func (b *bytesValue) Set(s string) error {
	if b.allowUnlimited && s == "-1" {
		b.n = -1
		return nil
	}
	n, err := units.RAMInBytes(s)
	if err != nil {
		return err
	}
	b.n = n
	return nil
}

func (b *bytesValue) String() string {
	if b.n == 0 {
		return ""
	}
	return strconv.FormatInt(b.n, 10)
}

func (b *bytesValue) Type() string { return "bytes" }

// listValue is a repeatable flag whose every value passes validate, which
// may also normalise it (docker's opts.ListOpts).
type listValue struct {
	values   []string
	validate func(string) (string, error)
}

func (l *listValue) Set(s string) error {
	if l.validate != nil {
		v, err := l.validate(s)
		if err != nil {
			return err
		}
		s = v
	}
	l.values = append(l.values, s)
	return nil
}

func (l *listValue) String() string { return "[" + strings.Join(l.values, " ") + "]" }
func (l *listValue) Type() string   { return "list" }

// ulimitsValue is --ulimit name=soft[:hard]; a later value for the same
// name replaces the earlier, as in docker.
type ulimitsValue struct{ list []*container.Ulimit }

func (u *ulimitsValue) Set(s string) error {
	l, err := units.ParseUlimit(s)
	if err != nil {
		return err
	}
	for i, old := range u.list {
		if old.Name == l.Name {
			u.list[i] = l
			return nil
		}
	}
	u.list = append(u.list, l)
	return nil
}

func (u *ulimitsValue) String() string {
	var out []string
	for _, l := range u.list {
		out = append(out, l.String())
	}
	return "[" + strings.Join(out, " ") + "]"
}

func (u *ulimitsValue) Type() string { return "ulimit" }

// mountsValue is --mount in docker's CSV form:
// type=bind|volume|tmpfs,src=…,dst=…,readonly,bind-propagation=…,
// volume-nocopy,tmpfs-size=…,tmpfs-mode=….
type mountsValue struct{ list []mount.Mount }

func (m *mountsValue) Type() string { return "mount" }

func (m *mountsValue) String() string {
	var out []string
	for _, v := range m.list {
		out = append(out, fmt.Sprintf("%s %s %s", v.Type, v.Source, v.Target))
	}
	return strings.Join(out, ", ")
}

func (m *mountsValue) Set(s string) error {
	s = strings.TrimSpace(s)
	if s == "" {
		return errors.New("value is empty")
	}
	fields, err := csv.NewReader(strings.NewReader(s)).Read()
	if err != nil {
		return err
	}
	mt := mount.Mount{Type: mount.TypeVolume} // docker's default
	for _, field := range fields {
		if err := setMountField(&mt, field); err != nil {
			return err
		}
	}
	if err := checkMount(mt); err != nil {
		return err
	}
	m.list = append(m.list, mt)
	return nil
}

func setMountField(mt *mount.Mount, field string) error {
	key, val, hasValue := strings.Cut(field, "=")
	if strings.TrimSpace(key) != key {
		return fmt.Errorf("invalid option '%s' in '%s': option should not have whitespace", strings.TrimSpace(key), field)
	}
	if hasValue && strings.TrimSpace(val) == "" {
		return fmt.Errorf("invalid value for '%s': value is empty", key)
	}
	key = strings.ToLower(key)
	flag := key == "readonly" || key == "ro" || key == "volume-nocopy"
	if !hasValue && !flag {
		return fmt.Errorf("invalid field '%s' must be a key=value pair", field)
	}
	var err error
	switch key {
	case "type":
		mt.Type = mount.Type(strings.ToLower(val))
	case "source", "src":
		mt.Source = val
		if !filepath.IsAbs(val) && strings.HasPrefix(val, ".") {
			if abs, err := filepath.Abs(val); err == nil {
				mt.Source = abs
			}
		}
	case "target", "dst", "destination":
		mt.Target = val
	case "readonly", "ro":
		mt.ReadOnly, err = mountBool(key, val, hasValue)
	case "bind-propagation":
		if mt.BindOptions == nil {
			mt.BindOptions = &mount.BindOptions{}
		}
		mt.BindOptions.Propagation = mount.Propagation(strings.ToLower(val))
	case "volume-nocopy":
		if mt.VolumeOptions == nil {
			mt.VolumeOptions = &mount.VolumeOptions{}
		}
		mt.VolumeOptions.NoCopy, err = mountBool(key, val, hasValue)
	case "tmpfs-size":
		n, perr := units.RAMInBytes(val)
		if perr != nil {
			return fmt.Errorf("invalid value for %s: %s", key, val)
		}
		tmpfsOptions(mt).SizeBytes = n
	case "tmpfs-mode":
		n, perr := strconv.ParseUint(val, 8, 32)
		if perr != nil {
			return fmt.Errorf("invalid value for %s: %s", key, val)
		}
		tmpfsOptions(mt).Mode = os.FileMode(n)
	default:
		return fmt.Errorf("unknown option '%s' in '%s'", key, field)
	}
	return err
}

func tmpfsOptions(mt *mount.Mount) *mount.TmpfsOptions {
	if mt.TmpfsOptions == nil {
		mt.TmpfsOptions = &mount.TmpfsOptions{}
	}
	return mt.TmpfsOptions
}

// mountBool is a bare key (true) or key=true|1|false|0.
func mountBool(key, val string, hasValue bool) (bool, error) {
	if !hasValue {
		return true, nil
	}
	switch strings.ToLower(val) {
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, fmt.Errorf(`invalid value for '%s': invalid boolean value (%q): must be one of "true", "1", "false", or "0" (default "true")`, key, val)
}

// checkMount refuses options that do not belong to the mount's type.
func checkMount(mt mount.Mount) error {
	switch mt.Type {
	case "":
		return errors.New("type is required")
	case mount.TypeBind, mount.TypeVolume, mount.TypeTmpfs:
	default:
		return fmt.Errorf("invalid mount type %q: pier supports bind, volume and tmpfs", mt.Type)
	}
	if mt.BindOptions != nil && mt.Type != mount.TypeBind {
		return fmt.Errorf("cannot mix 'bind-*' options with mount type '%s'", mt.Type)
	}
	if mt.VolumeOptions != nil && mt.Type != mount.TypeVolume {
		return fmt.Errorf("cannot mix 'volume-*' options with mount type '%s'", mt.Type)
	}
	if mt.TmpfsOptions != nil && mt.Type != mount.TypeTmpfs {
		return fmt.Errorf("cannot mix 'tmpfs-*' options with mount type '%s'", mt.Type)
	}
	return nil
}

// rateValue is pier's --egress-rate/--ingress-rate: a tc-style rate such as
// 10mbit, 512kbit or 1mbps (bytes); a bare number is bits per second, as in
// tc. The daemon receives the text; bits is what it means.
type rateValue struct {
	text string
	bits uint64
}

func (r *rateValue) Set(s string) error {
	bits, err := parseRate(s)
	if err != nil {
		return err
	}
	r.text, r.bits = strings.ToLower(strings.TrimSpace(s)), bits
	return nil
}

func (r *rateValue) String() string { return r.text }
func (r *rateValue) Type() string   { return "rate" }

// rateUnits are tc's: SI multiples of bits, "bps" ones of bytes, and the
// IEC "ibit"/"ibps" ones.
var rateUnits = map[string]float64{
	"": 1, "bit": 1, "kbit": 1e3, "mbit": 1e6, "gbit": 1e9, "tbit": 1e12,
	"kibit": 1 << 10, "mibit": 1 << 20, "gibit": 1 << 30,
	"bps": 8, "kbps": 8e3, "mbps": 8e6, "gbps": 8e9,
	"kibps": 8 << 10, "mibps": 8 << 20, "gibps": 8 << 30,
}

func parseRate(s string) (uint64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i < 0 {
		i = len(t)
	}
	num, unit := t[:i], t[i:]
	mult, ok := rateUnits[unit]
	n, err := strconv.ParseFloat(num, 64)
	if !ok || err != nil || n <= 0 {
		return 0, fmt.Errorf("invalid rate %q: want a positive number and a unit (bit, kbit, mbit, gbit; bps, kbps, mbps, gbps for bytes), e.g. 10mbit", s)
	}
	bits := n * mult
	if bits < 8 {
		return 0, fmt.Errorf("invalid rate %q: below 8 bit/s", s)
	}
	return uint64(bits), nil
}
