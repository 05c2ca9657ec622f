package dispatch

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"
)

// BlockedError is the error of a connection the address policy refused
// (DESIGN.md "Outbound contract": endpoints may not reach loopback,
// private or link-local addresses unless allow-listed). Its class is
// blocked_address. The address is the resolved one, which the endpoint's
// owner may see (it is no secret); the URL is never part of it.
type BlockedError struct {
	Addr netip.Addr
	// Range names why: "loopback", "private", "metadata", …
	Range string
}

func (e *BlockedError) Error() string {
	return fmt.Sprintf("address %s blocked: %s", e.Addr, e.Range)
}

// Class is ClassBlockedAddress.
func (e *BlockedError) Class() ErrorClass { return ClassBlockedAddress }

// blockedRanges are the prefixes an endpoint may not reach unless an
// allow-list prefix contains the address. IPv4-mapped (::ffff:a.b.c.d) and
// NAT64/6to4 addresses are checked by the IPv4 address they carry.
var blockedRanges = []struct {
	prefix netip.Prefix
	name   string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "unspecified"},
	{netip.MustParsePrefix("10.0.0.0/8"), "private"},
	{netip.MustParsePrefix("100.64.0.0/10"), "cgnat"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private"},
	{netip.MustParsePrefix("192.0.0.0/24"), "reserved"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private"},
	{netip.MustParsePrefix("198.18.0.0/15"), "reserved"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"}, // includes 255.255.255.255, broadcast
	{netip.MustParsePrefix("::/128"), "unspecified"},
	{netip.MustParsePrefix("::1/128"), "loopback"},
	{netip.MustParsePrefix("::/96"), "reserved"}, // deprecated IPv4-compatible
	{netip.MustParsePrefix("100::/64"), "reserved"},
	{netip.MustParsePrefix("fc00::/7"), "private"},
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("fec0::/10"), "private"}, // deprecated site-local
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
}

// metadataAddrs are cloud instance-metadata services. They sit inside
// blocked ranges already; they are listed apart because an allow-list
// prefix that merely contains one (169.254.0.0/16, fc00::/7) does not open
// it: only a prefix naming exactly that address does.
var metadataAddrs = []netip.Addr{
	netip.MustParseAddr("169.254.169.254"), // AWS, GCP, Azure, OpenStack, …
	netip.MustParseAddr("169.254.170.2"),   // AWS ECS task metadata
	netip.MustParseAddr("100.100.100.200"), // Alibaba Cloud
	netip.MustParseAddr("192.0.0.192"),     // Oracle Cloud
	netip.MustParseAddr("fd00:ec2::254"),   // AWS IPv6
}

var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// AddressPolicy decides which resolved addresses deliveries may connect
// to. The zero value refuses every blocked range.
type AddressPolicy struct {
	allow []netip.Prefix
}

// NewAddressPolicy returns a policy that admits the blocked addresses
// inside allow (the operator's --allow-private-cidrs). IPv4-mapped IPv6
// prefixes are read as the IPv4 prefix they carry.
func NewAddressPolicy(allow []netip.Prefix) *AddressPolicy {
	p := &AddressPolicy{}
	for _, a := range allow {
		a = a.Masked()
		if a.Addr().Is4In6() && a.Bits() >= 96 {
			a = netip.PrefixFrom(a.Addr().Unmap(), a.Bits()-96)
		}
		p.allow = append(p.allow, a)
	}
	return p
}

// Check returns a *BlockedError when ip may not be reached.
func (p *AddressPolicy) Check(ip netip.Addr) error {
	ip = ip.WithZone("").Unmap()
	if !ip.IsValid() {
		return &BlockedError{Addr: ip, Range: "invalid"}
	}
	if p.allowed(ip) {
		return nil
	}
	if name, blocked := blockedRange(ip); blocked {
		return &BlockedError{Addr: ip, Range: name}
	}
	// NAT64 and 6to4 carry an IPv4 address that a gateway reaches.
	if v4, ok := embeddedV4(ip); ok {
		if p.allowed(v4) {
			return nil
		}
		if name, blocked := blockedRange(v4); blocked {
			return &BlockedError{Addr: ip, Range: name}
		}
	}
	return nil
}

// allowed reports whether an allow-list prefix admits ip. A metadata
// address is admitted only by a prefix of exactly that address.
func (p *AddressPolicy) allowed(ip netip.Addr) bool {
	metadata := isMetadata(ip)
	for _, a := range p.allow {
		if !a.Contains(ip) {
			continue
		}
		if !metadata || a.IsSingleIP() {
			return true
		}
	}
	return false
}

func isMetadata(ip netip.Addr) bool {
	for _, m := range metadataAddrs {
		if ip == m {
			return true
		}
	}
	return false
}

func blockedRange(ip netip.Addr) (string, bool) {
	if isMetadata(ip) {
		return "metadata", true
	}
	for _, r := range blockedRanges {
		if r.prefix.Contains(ip) {
			return r.name, true
		}
	}
	return "", false
}

// embeddedV4 returns the IPv4 address a NAT64 (64:ff9b::/96) or 6to4
// (2002::/16) address carries.
func embeddedV4(ip netip.Addr) (netip.Addr, bool) {
	if !ip.Is6() {
		return netip.Addr{}, false
	}
	b := ip.As16()
	switch {
	case nat64.Contains(ip):
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case sixToFour.Contains(ip):
		return netip.AddrFrom4([4]byte(b[2:6])), true
	}
	return netip.Addr{}, false
}

// Control is a net.Dialer ControlContext hook. The dialer calls it with
// the resolved address of each connection it is about to make, after DNS,
// so a name that resolves to a public address for the check and a private
// one for the connection (DNS rebinding) cannot get round the policy.
func (p *AddressPolicy) Control(_ context.Context, network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &BlockedError{Range: "unparsable address"}
	}
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return &BlockedError{Addr: ap.Addr(), Range: "network " + network}
	}
	return p.Check(ap.Addr())
}

// DialerConfig configures NewDialer.
type DialerConfig struct {
	// Policy decides the addresses; nil refuses every blocked range.
	Policy *AddressPolicy
	// Resolver resolves names; nil is the system's.
	Resolver *net.Resolver
	// Timeout bounds a connect; 0 leaves it to the request's context.
	Timeout time.Duration
}

// NewDialer returns a dialer whose every connection passes the policy.
func NewDialer(cfg DialerConfig) *net.Dialer {
	p := cfg.Policy
	if p == nil {
		p = &AddressPolicy{}
	}
	return &net.Dialer{
		Timeout:        cfg.Timeout,
		KeepAlive:      30 * time.Second,
		Resolver:       cfg.Resolver,
		ControlContext: p.Control,
	}
}
