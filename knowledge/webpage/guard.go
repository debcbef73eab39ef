package webpage

import (
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"

	"code.dny.dev/ssrf"
)

// guard decides which URLs may be requested and which addresses may be
// dialled. The URL check runs before the request and on every redirect hop so
// callers get a clear error without touching the network; the dial check is
// the real boundary because it sees the address DNS actually returned.
type guard struct {
	ssrf          *ssrf.Guardian
	allowLoopback bool
}

func newGuard(allowLoopback bool) *guard {
	// The Guardian's defaults are what we want in production: tcp4/tcp6 only,
	// ports 80 and 443, IANA special-purpose IPv4 ranges and everything
	// outside IPv6 global unicast (which covers ::1, fc00::/7, fe80::/10 and
	// IPv4-mapped addresses) refused.
	return &guard{ssrf: ssrf.New(), allowLoopback: allowLoopback}
}

// control is a net.Dialer.Control function. It runs after DNS resolution for
// each address the dialer tries, so DNS rebinding and redirects to private
// hosts are caught here even when the URL looked harmless.
func (g *guard) control(network, address string, c syscall.RawConn) error {
	if g.allowLoopback {
		if ap, err := netip.ParseAddrPort(address); err == nil && ap.Addr().Unmap().IsLoopback() {
			// Loopback test servers listen on random ports, so the port
			// rule is lifted for them too.
			return nil
		}
	}
	if err := g.ssrf.Safe(network, address, c); err != nil {
		return fmt.Errorf("%w: %w", ErrForbiddenHost, err)
	}
	return nil
}

// safeAddr reports whether a literal address may be contacted.
func (g *guard) safeAddr(a netip.Addr) error {
	if g.allowLoopback && a.Unmap().IsLoopback() {
		return nil
	}
	if err := g.ssrf.SafeAddr(a); err != nil {
		return fmt.Errorf("%w: %w", ErrForbiddenHost, err)
	}
	return nil
}

// parseURL parses and checks a URL supplied by a moderator.
func (g *guard) parseURL(raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, fmt.Errorf("%w: empty URL", ErrBadURL)
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error quotes the input, which may hold credentials; say less.
		return nil, fmt.Errorf("%w: cannot parse URL", ErrBadURL)
	}
	if err := g.checkURL(u); err != nil {
		return nil, err
	}
	u.Fragment, u.RawFragment = "", ""
	return u, nil
}

// checkURL applies the scheme, userinfo, port and literal-host rules to u. It
// never performs DNS lookups.
func (g *guard) checkURL(u *url.URL) error {
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
	case "":
		return fmt.Errorf("%w: missing scheme (use http:// or https://)", ErrBadURL)
	default:
		return fmt.Errorf("%w: scheme %q is not allowed (use http or https)", ErrBadURL, u.Scheme)
	}
	if u.Opaque != "" {
		return fmt.Errorf("%w: opaque URL", ErrBadURL)
	}
	if u.User != nil {
		return fmt.Errorf("%w: URLs with a user name or password are not allowed", ErrBadURL)
	}
	// The host goes first: "that is a private address" is the more useful
	// message for http://127.0.0.1:8080/.
	if err := g.checkHost(u.Hostname()); err != nil {
		return err
	}
	if p := u.Port(); p != "" && p != "80" && p != "443" && !g.allowLoopback {
		return fmt.Errorf("%w: port %s is not allowed (only 80 and 443)", ErrBadURL, p)
	}
	return nil
}

// checkHost refuses hosts that are, or that some resolver would read as, a
// forbidden address. getaddrinfo accepts inet_aton forms such as 2130706433,
// 0x7f000001, 017700000001 and 127.1, which Go's URL parser leaves as
// hostnames; they are decoded here rather than left to whichever resolver runs.
func (g *guard) checkHost(host string) error {
	if host == "" {
		return fmt.Errorf("%w: missing host", ErrBadURL)
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return g.safeAddr(a)
	}
	name := strings.ToLower(strings.TrimSuffix(host, "."))
	if a, numeric, ok := parseLooseIPv4(name); numeric {
		if !ok {
			return fmt.Errorf("%w: malformed numeric host %q", ErrBadURL, host)
		}
		if err := g.safeAddr(a); err != nil {
			return err
		}
		// Harmless but ambiguous; a canonical dotted quad says the same thing.
		return fmt.Errorf("%w: non-canonical IPv4 address %q (write it as %s)", ErrBadURL, host, a)
	}
	if name == "localhost" || strings.HasSuffix(name, ".localhost") || name == "localhost.localdomain" {
		if g.allowLoopback {
			return nil
		}
		return fmt.Errorf("%w: %s", ErrForbiddenHost, host)
	}
	if !strings.Contains(name, ".") {
		// Single-label names are resolved through the local search domains,
		// i.e. they name internal machines.
		return fmt.Errorf("%w: host %q is not a public domain name", ErrForbiddenHost, host)
	}
	return nil
}

// parseLooseIPv4 decodes host the way inet_aton does: one to four parts, each
// decimal, octal (leading 0) or hex (leading 0x), the last part filling the
// remaining bytes. numeric reports whether every label looks like a number, in
// which case host can never be a DNS name; ok says whether it also decoded.
func parseLooseIPv4(host string) (addr netip.Addr, numeric, ok bool) {
	labels := strings.Split(host, ".")
	for _, l := range labels {
		if !numericLabel(l) {
			return netip.Addr{}, false, false
		}
	}
	if len(labels) > 4 {
		return netip.Addr{}, true, false
	}
	parts := make([]uint64, len(labels))
	for i, l := range labels {
		base, digits := 10, l
		switch {
		case strings.HasPrefix(l, "0x"):
			base, digits = 16, l[2:]
		case len(l) > 1 && l[0] == '0':
			base, digits = 8, l[1:]
		}
		if digits == "" { // "0x" alone is 0 to inet_aton
			digits = "0"
		}
		v, err := strconv.ParseUint(digits, base, 32)
		if err != nil { // an 8 or 9 in octal, or too large
			return netip.Addr{}, true, false
		}
		parts[i] = v
	}
	var v uint64
	for i, p := range parts[:len(parts)-1] {
		if p > 0xff {
			return netip.Addr{}, true, false
		}
		v |= p << (24 - 8*uint(i))
	}
	last := parts[len(parts)-1]
	if last > 0xffffffff>>(8*uint(len(parts)-1)) {
		return netip.Addr{}, true, false
	}
	v |= last
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true, true
}

// numericLabel reports whether l is all decimal digits, or 0x followed by
// hex digits. Octal labels are decimal-looking and land in the first case.
func numericLabel(l string) bool {
	if l == "" {
		return false
	}
	if strings.HasPrefix(l, "0x") {
		for _, r := range l[2:] {
			if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f') {
				return false
			}
		}
		return true
	}
	for _, r := range l {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
