package configfile

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// HostPort is a listen or dial address "host:port". It is checked when
// decoded so a typo fails at start-up with the key and line, not at bind.
type HostPort string

// UnmarshalText validates the address.
func (a *HostPort) UnmarshalText(b []byte) error {
	if err := CheckHostPort(string(b)); err != nil {
		return err
	}
	*a = HostPort(b)
	return nil
}

// CheckHostPort reports why s is not a usable host:port.
func CheckHostPort(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("invalid address %q: want host:port, e.g. 127.0.0.1:7080", s)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("invalid address %q: port %q is not a number from 0 to 65535", s, port)
	}
	if host != "" && net.ParseIP(host) == nil && !validHostname(host) {
		return fmt.Errorf("invalid address %q: host %q is neither an IP address nor a hostname", s, host)
	}
	return nil
}

func validHostname(h string) bool {
	if len(h) > 253 {
		return false
	}
	for _, r := range h {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.':
		default:
			return false
		}
	}
	return true
}

// IsLoopback reports whether a listen address stays on this host: a
// loopback IP or "localhost". An empty host means every interface.
func IsLoopback(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
