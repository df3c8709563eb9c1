package server

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

// The client's address behind the trusted proxies: X-Forwarded-For is
// believed only from a trusted peer, and only as far as the right-most
// entry that is not itself trusted.
func TestClientAddressVia(t *testing.T) {
	t.Parallel()
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8"),
		netip.MustParsePrefix("192.0.2.10/32")}
	for _, tc := range []struct {
		name    string
		peer    string
		xff     []string // one header line each
		trusted []netip.Prefix
		want    string
	}{
		{"no proxies trusted: the peer", "203.0.113.5:4711", nil, nil, "203.0.113.5"},
		{"no proxies trusted: the header ignored", "203.0.113.5:4711", []string{"198.51.100.1"}, nil, "203.0.113.5"},
		{"spoofed header from an untrusted peer", "203.0.113.5:4711", []string{"10.1.1.1, 198.51.100.1"}, trusted, "203.0.113.5"},
		{"trusted peer without the header", "10.0.0.2:80", nil, trusted, "10.0.0.2"},
		{"one trusted proxy", "10.0.0.2:80", []string{"198.51.100.7"}, trusted, "198.51.100.7"},
		{"two trusted proxies", "10.0.0.2:80", []string{"198.51.100.7, 10.3.3.3"}, trusted, "198.51.100.7"},
		{"two trusted proxies, a line each", "10.0.0.2:80", []string{"198.51.100.7", "10.3.3.3"}, trusted, "198.51.100.7"},
		{"the client's own forgery to the left is not believed", "10.0.0.2:80",
			[]string{"1.2.3.4, 10.9.9.9, 198.51.100.7, 10.3.3.3"}, trusted, "198.51.100.7"},
		{"a single trusted address", "192.0.2.10:80", []string{"198.51.100.7"}, trusted, "198.51.100.7"},
		{"its neighbour is not trusted", "192.0.2.11:80", []string{"198.51.100.7"}, trusted, "192.0.2.11"},
		{"every hop trusted: the left-most", "10.0.0.2:80", []string{"10.4.4.4, 10.3.3.3"}, trusted, "10.4.4.4"},
		{"garbage: the last trusted hop", "10.0.0.2:80", []string{"unknown, 10.3.3.3"}, trusted, "10.3.3.3"},
		{"empty entry: the last trusted hop", "10.0.0.2:80", []string{", 10.3.3.3"}, trusted, "10.3.3.3"},
		{"an entry with a port", "10.0.0.2:80", []string{"198.51.100.7:5555"}, trusted, "198.51.100.7"},
		{"IPv6 peer and client", "[fd00::1]:443", []string{"2001:db8::7"}, trusted, "2001:db8::7"},
		{"IPv6 client through two proxies", "[fd00::1]:443", []string{"2001:db8::7, fd12::3"}, trusted, "2001:db8::7"},
		{"IPv6 entry with a port", "[fd00::1]:443", []string{"[2001:db8::7]:5555"}, trusted, "2001:db8::7"},
		{"IPv6 untrusted peer", "[2001:db8::9]:443", []string{"2001:db8::7"}, trusted, "2001:db8::9"},
		{"IPv4-mapped trusted peer", "[::ffff:10.0.0.2]:80", []string{"198.51.100.7"}, trusted, "198.51.100.7"},
		{"IPv4 client behind an IPv6 proxy", "[fd00::1]:443", []string{"198.51.100.7"}, trusted, "198.51.100.7"},
		{"zoned link-local peer, untrusted", "[fe80::1%eth0]:80", []string{"198.51.100.7"}, trusted, "fe80::1"},
		{"a peer that is no address", "@", []string{"198.51.100.7"}, trusted, "@"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.peer
			for _, l := range tc.xff {
				r.Header.Add("X-Forwarded-For", l)
			}
			if got := clientAddressVia(r, tc.trusted); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
