package server

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// clientAddress is the caller's IP address: the key of the sign-in delay
// and rate limit, and what the request log and the sign-in audit events
// record. See clientAddressVia.
func (s *Server) clientAddress(r *http.Request) string {
	return clientAddressVia(r, s.proxies)
}

// clientAddressVia is the caller's address behind the reverse proxies
// trusted (--trusted-proxies).
//
// When the connection's peer is not a trusted proxy, the peer is the
// client, and X-Forwarded-For is ignored: anyone can write that header.
// When it is, X-Forwarded-For is read from the right, the entry the
// nearest proxy appended first, past every entry that is itself a trusted
// proxy: the first one that is not is the client. Entries to its left were
// written by the client or by proxies nobody vouches for, so they are
// never believed. If every entry is a trusted proxy, the left-most is the
// client (a request from inside); if an entry is not an address, or the
// header is missing, the last trusted hop is, so the limit then counts the
// proxy, never an address a client chose.
func clientAddressVia(r *http.Request, trusted []netip.Prefix) string {
	peer, ok := parseHost(r.RemoteAddr)
	if !ok {
		return r.RemoteAddr
	}
	if !isTrusted(peer, trusted) {
		return peer.String()
	}
	hops := forwardedFor(r.Header.Values("X-Forwarded-For"))
	last := peer // the last trusted hop seen
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHost(hops[i])
		if !ok {
			return last.String()
		}
		if !isTrusted(a, trusted) {
			return a.String()
		}
		last = a
	}
	return last.String()
}

// forwardedFor splits every X-Forwarded-For line into its entries, in
// order (a proxy may add a line of its own instead of extending the last).
func forwardedFor(lines []string) []string {
	var out []string
	for _, l := range lines {
		for e := range strings.SplitSeq(l, ",") {
			out = append(out, strings.TrimSpace(e))
		}
	}
	return out
}

// parseHost reads an address as RemoteAddr or X-Forwarded-For give it:
// "192.0.2.1", "192.0.2.1:443", "2001:db8::1", "[2001:db8::1]:443". An
// IPv4-mapped IPv6 address is read as IPv4 and a zone is dropped, so that
// the trusted prefixes match.
func parseHost(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		host, _, serr := net.SplitHostPort(s)
		if serr != nil {
			return netip.Addr{}, false
		}
		if a, err = netip.ParseAddr(host); err != nil {
			return netip.Addr{}, false
		}
	}
	return a.Unmap().WithZone(""), true
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
