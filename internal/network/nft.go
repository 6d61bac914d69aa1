package network

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/google/nftables"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"

	"github.com/pier-engine/pier/internal/errdefs"
)

// nftMu serialises pier's read-then-write transactions on its table within
// this process; one daemon owns the table.
var nftMu sync.Mutex

func pierTable() *nftables.Table { return pierTableOf(nftables.TableFamilyIPv4) }

// pierTableOf is pier's table in family ip or ip6; the ip6 one exists
// only while a network with IPv6 is up.
func pierTableOf(fam nftables.TableFamily) *nftables.Table {
	return &nftables.Table{Name: TableName, Family: fam}
}

// familyName is the nft keyword of fam, for messages.
func familyName(fam nftables.TableFamily) string {
	if fam == nftables.TableFamilyIPv6 {
		return "ip6"
	}
	return "ip"
}

// ruleTag reads a rule's tag back from its comment.
func ruleTag(r *nftables.Rule) string {
	s, _ := userdata.GetString(r.UserData, userdata.TypeComment)
	return s
}

// decideFunc looks at the tags present and says which to delete, or refuses.
type decideFunc func(existing []string) (drop func(tag string) bool, err error)

// change is one transaction on pier's table: it makes sure the table and
// its chains exist, then, atomically, deletes the rules decide picks and
// adds the planned ones. Replacing a tag's rules is therefore atomic too.
func change(decide decideFunc, add []rulePlan) error {
	return changeIn(nftables.TableFamilyIPv4, true, decide, add)
}

// changeIn is change on the table of family fam; with create false, a
// missing table is left missing (there is nothing in it to delete).
func changeIn(fam nftables.TableFamily, create bool, decide decideFunc, add []rulePlan) error {
	nftMu.Lock()
	defer nftMu.Unlock()
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("nftables: open: %w", err)
	}
	if !create {
		if _, err := c.ListTableOfFamily(TableName, fam); err != nil {
			return nil
		}
	}
	t := c.AddTable(pierTableOf(fam))
	chains := map[string]*nftables.Chain{}
	for _, ch := range baseChains(t) {
		chains[ch.Name] = c.AddChain(ch)
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nftables: ensure table %s %s: %w", familyName(fam), TableName, err)
	}
	var existing []*nftables.Rule
	for _, ch := range chains {
		rules, err := c.GetRules(t, ch)
		if err != nil {
			return fmt.Errorf("nftables: list chain %s: %w", ch.Name, err)
		}
		existing = append(existing, rules...)
	}
	var tags []string
	for _, r := range existing {
		tags = append(tags, ruleTag(r))
	}
	drop, err := decide(tags)
	if err != nil {
		return err
	}
	for _, r := range existing {
		if drop != nil && drop(ruleTag(r)) {
			if err := c.DelRule(r); err != nil {
				return fmt.Errorf("nftables: delete rule %q: %w", ruleTag(r), err)
			}
		}
	}
	for _, p := range add {
		c.AddRule(&nftables.Rule{
			Table: t, Chain: chains[p.chain], Exprs: p.exprs,
			UserData: userdata.AppendString(nil, userdata.TypeComment, p.tag),
		})
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nftables: commit: %w", err)
	}
	return nil
}

func replace(tag string) decideFunc {
	return func([]string) (func(string) bool, error) {
		return func(t string) bool { return t == tag }, nil
	}
}

// EnsureNAT sets up address translation and filtering for a bridge's subnet
// (natPlan, localnetPlan), replacing any earlier rules for that bridge, and
// turns on the sysctls it needs: route_localnet on the bridge, so the host reaches published ports
// through 127.0.0.1, and ip_forward, without which no container traffic is
// routed at all (as Docker does).
func EnsureNAT(subnet netip.Prefix, bridge string) error {
	if err := checkSubnet(subnet); err != nil {
		return err
	}
	if err := checkIfName(bridge); err != nil {
		return err
	}
	if err := setSysctl("/proc/sys/net/ipv4/conf/"+bridge+"/route_localnet", "1"); err != nil {
		return fmt.Errorf("nat %s: %w", bridge, err)
	}
	if err := setSysctl("/proc/sys/net/ipv4/ip_forward", "1"); err != nil {
		return fmt.Errorf("nat %s: %w", bridge, err)
	}
	// The loopback guard goes in with the first route_localnet=1 (and is
	// replaced, identical, with every later one).
	decide := func([]string) (func(string) bool, error) {
		return func(t string) bool { return t == natTag(bridge) || t == localnetTag }, nil
	}
	if err := change(decide, append(natPlan(subnet, bridge), localnetPlan()...)); err != nil {
		return fmt.Errorf("nat %s %s: %w", bridge, subnet, err)
	}
	return nil
}

// EnsureNAT6 is EnsureNAT for a bridge's IPv6 subnet, in pier's ip6
// table (natPlan6): masquerade leaving the host, as dockerd 27+ with
// ip6tables does, and no new connection into the bridge from elsewhere.
// It leaves net.ipv6.conf.all.forwarding as the host has it: turning it on
// would stop the host accepting router advertisements on its own
// interfaces, so containers reach past the host over IPv6 only where the
// administrator has turned forwarding on.
func EnsureNAT6(subnet netip.Prefix, bridge string) error {
	if err := checkSubnet(subnet); err != nil {
		return err
	}
	if !subnet.Addr().Is6() {
		return fmt.Errorf("nat6 %s: subnet %s: not IPv6: %w", bridge, subnet, errdefs.ErrInvalidArgument)
	}
	if err := checkIfName(bridge); err != nil {
		return err
	}
	if err := changeIn(nftables.TableFamilyIPv6, true, replace(natTag(bridge)), natPlan6(subnet, bridge)); err != nil {
		return fmt.Errorf("nat6 %s %s: %w", bridge, subnet, err)
	}
	return nil
}

// Isolate6 is Isolate for IPv6, between two bridges that both carry it.
func Isolate6(a, b string) error {
	for _, n := range []string{a, b} {
		if err := checkIfName(n); err != nil {
			return err
		}
	}
	if err := changeIn(nftables.TableFamilyIPv6, true, replace(isolateTag(a, b)), isolatePlan(a, b)); err != nil {
		return fmt.Errorf("isolate6 %s %s: %w", a, b, err)
	}
	return nil
}

// Isolate drops forwarded traffic between two bridges, both ways. It is
// idempotent.
func Isolate(a, b string) error {
	for _, n := range []string{a, b} {
		if err := checkIfName(n); err != nil {
			return err
		}
	}
	if err := change(replace(isolateTag(a, b)), isolatePlan(a, b)); err != nil {
		return fmt.Errorf("isolate %s %s: %w", a, b, err)
	}
	return nil
}

// RemoveBridgeRules deletes every rule about bridge (its NAT, its
// isolation from others), for when its network is removed, and the
// loopback guard with the last bridge's NAT. Published ports go with
// Unpublish, since they name containers, not bridges.
func RemoveBridgeRules(bridge string) error {
	decide := func(existing []string) (func(string) bool, error) {
		lastNAT := !slices.ContainsFunc(existing, func(t string) bool {
			return strings.HasPrefix(t, "nat ") && t != natTag(bridge)
		})
		return func(t string) bool {
			f := strings.Fields(t)
			return t == natTag(bridge) || (lastNAT && t == localnetTag) ||
				(len(f) == 3 && f[0] == "isolate" && slices.Contains(f[1:], bridge))
		}, nil
	}
	if err := change(decide, nil); err != nil {
		return fmt.Errorf("remove rules of %s: %w", bridge, err)
	}
	if err := changeIn(nftables.TableFamilyIPv6, false, decide, nil); err != nil {
		return fmt.Errorf("remove IPv6 rules of %s: %w", bridge, err)
	}
	return nil
}

// PublishPort makes p's host port lead to the container (publishPlan). A
// port already published on the same protocol, port and address (or with
// either address unspecified) is ErrAlreadyExists; a host address that is
// not local is ErrInvalidArgument, and a host port some process of the host
// listens on is ErrConflict (hostport.go).
func PublishPort(p Port) (PortHandle, error) {
	if err := p.check(); err != nil {
		return "", err
	}
	if err := checkHostIP(p.HostIP); err != nil {
		return "", err
	}
	if err := checkPortFree(p.Proto, p.HostIP, p.HostPort); err != nil {
		return "", err
	}
	h := p.Handle()
	decide := func(existing []string) (func(string) bool, error) {
		for _, t := range existing {
			if PortHandle(t).conflicts(h) {
				return nil, fmt.Errorf("%s: taken by %q: %w", h, t, errdefs.ErrAlreadyExists)
			}
		}
		return nil, nil
	}
	// Conflicts are found in the ip table, which holds every port but one
	// published on an IPv6 host address alone; that one is checked in the
	// ip6 table.
	if !p.hostIs6() {
		if err := change(decide, publishPlan(p)); err != nil {
			return "", fmt.Errorf("publish %s:%d/%s: %w", p.hostIP(), p.HostPort, p.Proto, err)
		}
	}
	if plan6 := publishPlan6(p); len(plan6) > 0 {
		d6 := decide
		if !p.hostIs6() {
			d6 = replace(string(h)) // checked in the ip table
		}
		if err := changeIn(nftables.TableFamilyIPv6, true, d6, plan6); err != nil {
			_ = change(replace(string(h)), nil)
			return "", fmt.Errorf("publish [%s]:%d/%s: %w", p.hostIP(), p.HostPort, p.Proto, err)
		}
	}
	return h, nil
}

// Unpublish removes a published port's rules. An unknown handle is not an
// error, so clean-up after a crash can unpublish blindly.
func Unpublish(h PortHandle) error {
	if err := change(replace(string(h)), nil); err != nil {
		return fmt.Errorf("unpublish %q: %w", h, err)
	}
	if err := changeIn(nftables.TableFamilyIPv6, false, replace(string(h)), nil); err != nil {
		return fmt.Errorf("unpublish %q: %w", h, err)
	}
	return nil
}

// PublishedPorts lists the handles of the ports published now, for a
// restarted daemon to reconcile with its containers.
func PublishedPorts() ([]PortHandle, error) {
	var out []PortHandle
	decide := func(existing []string) (func(string) bool, error) {
		for _, t := range existing {
			if _, _, _, ok := PortHandle(t).parse(); ok && !slices.Contains(out, PortHandle(t)) {
				out = append(out, PortHandle(t))
			}
		}
		return nil, nil
	}
	if err := change(decide, nil); err != nil {
		return nil, fmt.Errorf("list published ports: %w", err)
	}
	if err := changeIn(nftables.TableFamilyIPv6, false, decide, nil); err != nil {
		return nil, fmt.Errorf("list published IPv6 ports: %w", err)
	}
	return out, nil
}

// DeleteTable removes pier's table and every rule in it; a missing table is
// not an error. Nothing else in the ruleset is touched.
func DeleteTable() error {
	nftMu.Lock()
	defer nftMu.Unlock()
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("nftables: open: %w", err)
	}
	for _, fam := range []nftables.TableFamily{nftables.TableFamilyIPv4, nftables.TableFamilyIPv6} {
		c.DelTable(pierTableOf(fam))
		if err := c.Flush(); err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("nftables: delete table %s %s: %w", familyName(fam), TableName, err)
		}
	}
	return nil
}
