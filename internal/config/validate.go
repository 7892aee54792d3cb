package config

import (
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flotilla-ipfs/flotilla/alloc"
)

// Validate checks every value that could otherwise fail later, far from its
// cause. The error names the key; Load adds where its value came from.
func (c Config) Validate() error {
	bad := func(key string, format string, args ...any) error {
		return &Error{Key: key, Err: fmt.Errorf(format, args...)}
	}
	for key, addr := range map[string]string{
		"cluster.listen": c.Cluster.Listen,
		"proxy.listen":   c.Proxy.Listen,
		"api.listen":     c.API.Listen,
		"pinsvc.listen":  c.PinSvc.Listen,
	} {
		if err := checkListen(addr); err != nil {
			return bad(key, "%v", err)
		}
	}
	if c.API.Pprof && !isLoopbackListen(c.API.Listen) {
		return bad("api.pprof", "needs api.listen on loopback (127.0.0.1 or ::1), not %q: profiles are for the operator on the machine", c.API.Listen)
	}
	if err := checkSecret(c.Cluster.Secret); err != nil {
		return bad("cluster.secret", "%v", err)
	}
	if s := c.Cluster.FollowerSecret; s != "" {
		if err := checkSecret(s); err != nil {
			return bad("cluster.follower_secret", "%v", err)
		}
		if strings.EqualFold(s, c.Cluster.Secret) {
			return bad("cluster.follower_secret", "must differ from cluster.secret: it grants reads only, and whoever holds it would otherwise hold the cluster secret")
		}
	}
	if err := c.checkBrowserKeys(); err != nil {
		return err
	}
	if err := c.checkCredentials(); err != nil {
		return err
	}
	if err := c.checkFactors(); err != nil {
		return err
	}
	if err := alloc.CheckAllocateBy(c.Cluster.AllocateBy); err != nil {
		return bad("cluster.allocate_by", "%v", err)
	}
	if c.Proxy.PinWait != "pinned" && c.Proxy.PinWait != "committed" {
		return bad("proxy.pin_wait", "%q must be \"pinned\" or \"committed\"", c.Proxy.PinWait)
	}
	if c.IPFS.API == "" {
		return bad("ipfs.api", "must not be empty")
	}
	if c.HTTP.BodyMinRate < 0 {
		return bad("http.body_min_rate", "must not be negative (0 turns it off)")
	}
	if c.HTTP.MaxConnections < 0 {
		return bad("http.max_connections", "must not be negative (0 turns the limit off)")
	}
	if c.IPFS.ConcurrentPins < 1 {
		return bad("ipfs.concurrent_pins", "must be at least 1")
	}
	if c.Raft.Voters < 1 {
		return bad("raft.voters", "must be at least 1")
	}
	if c.Raft.BatchMaxPins < 1 {
		return bad("raft.batch_max_pins", "must be at least 1")
	}
	if err := c.checkRaftTimings(); err != nil {
		return err
	}
	if c.Health.HeartbeatInterval <= 0 {
		return bad("health.heartbeat_interval", "must be longer than 0s")
	}
	if c.Health.HeartbeatTTL <= c.Health.HeartbeatInterval {
		return bad("health.heartbeat_ttl", "must be longer than health.heartbeat_interval (%s)", c.Health.HeartbeatInterval.D())
	}
	return nil
}

// checkFactors blames the replication factor that is wrong on its own (0,
// or below -1); when only the pair is wrong (min above max, one of them
// -1), either may be, and Load names the one the environment set.
func (c Config) checkFactors() error {
	lo, hi := c.Cluster.ReplicationFactorMin, c.Cluster.ReplicationFactorMax
	err := alloc.CheckFactors(lo, hi)
	if err == nil {
		return nil
	}
	const minKey, maxKey = "cluster.replication_factor_min", "cluster.replication_factor_max"
	wrongAlone := func(v int) bool { return v == 0 || v < -1 }
	switch {
	case wrongAlone(lo):
		return &Error{Key: minKey, Err: err}
	case wrongAlone(hi):
		return &Error{Key: maxKey, Err: err}
	}
	return &Error{Key: minKey, OrKey: maxKey, Err: err}
}

// raftMinTimeout is the shortest timeout hashicorp/raft's ValidateConfig
// accepts, for the heartbeat, election and leader lease timeouts and the
// snapshot interval.
const raftMinTimeout = 5 * time.Millisecond

// checkRaftTimings makes the checks hashicorp/raft makes when it starts,
// so that a bad timing names its key instead of stopping the daemon with
// Raft's own field names. The leader lease is half the heartbeat timeout
// (cluster/raft.go), hence twice Raft's floor for the heartbeat.
func (c Config) checkRaftTimings() error {
	r := c.Raft
	switch {
	case r.HeartbeatTimeout.D() < 2*raftMinTimeout:
		return &Error{Key: "raft.heartbeat_timeout", Err: fmt.Errorf("%s is too short: Raft needs at least %s", r.HeartbeatTimeout.D(), 2*raftMinTimeout)}
	case r.ElectionTimeout < r.HeartbeatTimeout:
		return &Error{Key: "raft.election_timeout", Err: fmt.Errorf("%s is shorter than raft.heartbeat_timeout (%s): Raft needs it at least as long", r.ElectionTimeout.D(), r.HeartbeatTimeout.D())}
	case r.SnapshotInterval.D() < raftMinTimeout:
		return &Error{Key: "raft.snapshot_interval", Err: fmt.Errorf("%s is too short: Raft needs at least %s", r.SnapshotInterval.D(), raftMinTimeout)}
	case r.SnapshotThreshold < 0:
		// Raft takes it unsigned: a negative count would wrap to one that
		// is never reached, and the log would grow without a snapshot.
		return &Error{Key: "raft.snapshot_threshold", Err: fmt.Errorf("%d is negative: it is the number of log entries between snapshots", r.SnapshotThreshold)}
	}
	return nil
}

// checkBrowserKeys checks the keys that say which web pages and which Host
// names the admin and pinning-service listeners accept, and the token
// secret. An origin that can never match (a trailing slash, a wildcard
// inside a name) would otherwise refuse the operator's own UI in silence.
func (c Config) checkBrowserKeys() error {
	for _, k := range []struct {
		key  string
		list []string
		ok   func(string) error
	}{
		{"proxy.allowed_hosts", c.Proxy.AllowedHosts, checkHostName},
		{"api.cors_allowed_origins", c.API.CORSAllowedOrigins, checkOrigin},
		{"api.allowed_hosts", c.API.AllowedHosts, checkHostName},
		{"pinsvc.allowed_origins", c.PinSvc.AllowedOrigins, checkOrigin},
		{"pinsvc.allowed_hosts", c.PinSvc.AllowedHosts, checkHostName},
	} {
		for _, v := range k.list {
			if err := k.ok(v); err != nil {
				return &Error{Key: k.key, Err: err}
			}
		}
	}
	if s := c.API.TokenSecret; s != "" && len(s) < 32 {
		return &Error{Key: "api.token_secret", Err: fmt.Errorf("must be at least 32 characters (`openssl rand -hex 32` makes one), got %d", len(s))}
	}
	return nil
}

// checkCredentials refuses credentials that could never let anyone in, so
// that the operator learns it at start rather than from a login that
// fails. The messages name users and authorizations, never a secret.
func (c Config) checkCredentials() error {
	for _, user := range slices.Sorted(maps.Keys(c.API.BasicAuthCredentials)) {
		switch {
		case user == "":
			return &Error{Key: "api.basic_auth_credentials", Err: errors.New("a user has an empty name: basic auth needs one to log in")}
		case c.API.BasicAuthCredentials[user] == "":
			return &Error{Key: "api.basic_auth_credentials", Err: fmt.Errorf("user %q has an empty password, which the API refuses: nobody could log in as %q", user, user)}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(c.Proxy.Authorizations)) {
		a := c.Proxy.Authorizations[name]
		secret := strings.TrimPrefix(strings.TrimPrefix(a.AuthSecret, "bearer:"), "basic:")
		if secret == "" {
			return &Error{Key: "proxy.authorizations", Err: fmt.Errorf("%q has an empty auth_secret: no request could present it", name)}
		}
		for _, p := range a.AllowedPaths {
			if !strings.HasPrefix(p, "/") {
				return &Error{Key: "proxy.authorizations", Err: fmt.Errorf("%q allows %q, which is not a path such as \"/api/v0\": it would match no request", name, p)}
			}
		}
	}
	return nil
}

// checkOrigin accepts "*" or a browser origin: scheme://host[:port].
func checkOrigin(o string) error {
	if o == "*" {
		return nil
	}
	if strings.Contains(o, "*") {
		return fmt.Errorf("%q: the only wildcard is \"*\" on its own, which allows every origin", o)
	}
	u, err := url.Parse(o)
	if err != nil || u.Scheme == "" || u.Host == "" || u.Opaque != "" {
		return fmt.Errorf("%q is not an origin such as \"https://ui.example\" (scheme://host[:port])", o)
	}
	if u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil || strings.HasSuffix(o, "?") {
		return fmt.Errorf("%q is more than an origin: a browser sends scheme://host[:port], without a path or a trailing slash", o)
	}
	return nil
}

// checkHostName accepts "*" or a Host header's value: host or host:port.
func checkHostName(h string) error {
	if h == "*" {
		return nil
	}
	u, err := url.Parse("http://" + h)
	if err != nil || u.Host != h || u.Hostname() == "" || u.Path != "" || strings.ContainsAny(h, "@?#*") {
		return fmt.Errorf("%q is not a host name such as \"admin.example\" or \"admin.example:443\"", h)
	}
	return nil
}

func checkListen(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not a host:port address", addr)
	}
	if host != "" && net.ParseIP(host) == nil && host != "localhost" {
		return fmt.Errorf("%q: listen on an IP address, not the name %q", addr, host)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q has a bad port", addr)
	}
	return nil
}

// isLoopbackListen tells whether a valid listen address binds loopback
// only; an empty host binds every interface.
func isLoopbackListen(addr string) bool {
	host, _, _ := net.SplitHostPort(addr)
	ip := net.ParseIP(host)
	return host == "localhost" || ip != nil && ip.IsLoopback()
}

func checkSecret(s string) error {
	if len(s) != 64 {
		return fmt.Errorf("must be 64 hex characters (32 bytes), got %d characters", len(s))
	}
	if _, err := hex.DecodeString(s); err != nil {
		return errors.New("must be hex: 64 characters of 0-9a-f")
	}
	return nil
}
