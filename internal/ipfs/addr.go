package ipfs

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	ma "github.com/multiformats/go-multiaddr"
)

// ParseAPIAddr turns an upstream API address into the base URL that Kubo
// clients take (no /api/v0). It accepts an http(s) URL, as operators write
// for a proxy, or a multiaddr, as Kubo writes in $IPFS_PATH/api and
// ipfs-cluster's node_multiaddress: /ip4|ip6|dns|dns4|dns6/<host>/tcp/<port>,
// optionally followed by /http, /https or /tls/http.
func ParseAPIAddr(addr string) (string, error) {
	addr = strings.TrimSpace(addr)
	if addr == "" {
		return "", errors.New("the IPFS API address is empty")
	}
	if strings.HasPrefix(addr, "/") {
		return parseMultiaddr(addr)
	}
	return parseURL(addr)
}

func parseURL(addr string) (string, error) {
	u, err := url.Parse(addr)
	if err != nil {
		return "", fmt.Errorf("%q is neither an http URL nor a multiaddr: %w", addr, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("%q: want an http:// or https:// URL, or a multiaddr such as /ip4/127.0.0.1/tcp/5001", addr)
	case u.Host == "" || u.Hostname() == "":
		return "", fmt.Errorf("%q has no host", addr)
	case u.User != nil:
		// Credentials in the URL would end up in logs and error messages.
		return "", fmt.Errorf("%q: put credentials in the authorization setting, not in the URL", u.Redacted())
	case u.RawQuery != "" || u.Fragment != "":
		return "", fmt.Errorf("%q: a query or fragment makes no sense in an API address", addr)
	}
	p := strings.TrimRight(u.Path, "/")
	if strings.HasSuffix(p, "/api/v0") {
		return "", fmt.Errorf("%q: leave out /api/v0, clients add it", addr)
	}
	return u.Scheme + "://" + u.Host + p, nil
}

func parseMultiaddr(addr string) (string, error) {
	scheme := "http"
	host, port, err := SplitMultiaddr(addr, "an API address", func(c *ma.Component) error {
		switch c.Protocol().Code {
		case ma.P_HTTP:
		case ma.P_HTTPS, ma.P_TLS:
			scheme = "https"
		case ma.P_UNIX:
			return fmt.Errorf("%q: unix sockets are not supported, give the API a TCP address", addr)
		default:
			return fmt.Errorf("%q: unsupported protocol /%s in an API address", addr, c.Protocol().Name)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return scheme + "://" + net.JoinHostPort(host, port), nil
}

// SplitMultiaddr reads /ip4|ip6|dns|dns4|dns6/<host>/tcp/<port> off the
// front of addr, a multiaddr naming what (for errors), and hands each
// later component to rest, which refuses those the caller does not take.
func SplitMultiaddr(addr, what string, rest func(c *ma.Component) error) (host, port string, err error) {
	m, err := ma.NewMultiaddr(addr)
	if err != nil {
		return "", "", fmt.Errorf("%q is not a valid multiaddr: %w", addr, err)
	}
	for i := range m {
		c := &m[i]
		switch code := c.Protocol().Code; {
		case code == ma.P_IP4 || code == ma.P_IP6 || code == ma.P_DNS || code == ma.P_DNS4 || code == ma.P_DNS6:
			if i != 0 {
				return "", "", fmt.Errorf("%q: the host must come first", addr)
			}
			host = c.Value()
		case code == ma.P_TCP:
			if i != 1 {
				return "", "", fmt.Errorf("%q: /tcp/<port> must follow the host", addr)
			}
			port = c.Value()
		default:
			if err := rest(c); err != nil {
				return "", "", err
			}
		}
	}
	if host == "" || port == "" {
		return "", "", fmt.Errorf("%q: want /ip4|ip6|dns/<host>/tcp/<port> in %s", addr, what)
	}
	return host, port, nil
}
