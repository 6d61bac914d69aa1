//go:build linux

// Package network is the kernel side of pier's bridge networking: Linux
// bridges, veth endpoints moved into a container's network namespace,
// persistent address allocation (IPAM), and NAT and filtering rules in pier's
// own nftables table. Everything goes through netlink (vishvananda/netlink
// for links, addresses and routes; google/nftables for rules); no ip,
// iptables or nft binary is run.
//
// Lifecycle, as the daemon drives it:
//
//	CheckBridgeName(name)             when a network names its bridge
//	EnsureBridge(name, subnet, mtu)   once per network, idempotent
//	EnsureNAT(subnet, bridge)         once per network, idempotent
//	OpenIPAM(dir, name, subnet)       once per network; survives restarts
//	(EnsureBridgeGateway, OpenIPAMPool: a gateway other than the first address, an ip range)
//	ipam.Allocate(owner)              per container
//	Attach(netnsPath, bridge, ip, "eth0")
//	Limit(ep.HostName, egress, ingress) per container, optional
//	PublishPort(Port{...}) / Unpublish(h) per published port
//	Detach(ep); ipam.Release(ip)      when the container stops
//	Isolate(a, b)                     between every pair of networks
//	RemoveBridgeRules(name); DeleteBridge(name) when a network goes
//	DeleteTable()                     when pier is uninstalled
//
// Published ports are pure kernel DNAT, like Docker with its userland proxy
// off: no process per port. For the host itself to reach a port through
// 127.0.0.1, three things must hold, and EnsureNAT and PublishPort set them:
// the DNAT rule is in the nat output hook as well as prerouting (locally
// generated packets never traverse prerouting); the bridge has
// net.ipv4.conf.<bridge>.route_localnet=1, otherwise the kernel drops a packet
// whose source is 127.0.0.1 once it is routed out of a non-loopback
// interface; and packets with a 127.0.0.0/8 source leaving through the bridge
// are masqueraded to the bridge's address, since the container could not
// answer 127.0.0.1 (that would be its own loopback). So a connection from the
// host's loopback is seen by the container as coming from the gateway; every
// other client (another host, another network) keeps its own source address.
//
// route_localnet alone would let a container send to 127.0.0.1 through its
// gateway and reach the host's loopback services (CVE-2020-8558), so the
// first EnsureNAT also installs a guard in an input chain: packets to
// 127.0.0.0/8 arriving on any interface but lo are dropped unless pier
// DNATed their connection (localnetPlan). In prerouting, a port published
// on 127.0.0.0/8 matches only packets from lo, and one published on every
// address excludes 127.0.0.0/8 (moby#41872). With ip_forward on, a bridge
// with NAT takes new connections from other interfaces only when a
// published port DNATed them (natPlan). PublishPort refuses a host address
// that is not local and a host port some process listens on (hostport.go).
//
// pier only ever touches the table "ip pier", the bridges and veths it
// created (its bridges carry the ifalias "pier-network"; an operator's
// bridge is never configured or deleted, owner.go), and the route_localnet
// and ip_forward sysctls; it never flushes the ruleset or changes the
// host's routes.
package network
