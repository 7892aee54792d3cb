// Package config loads and validates service.json, with every key open to an
// environment override, so that a peer can be configured by file, by
// container environment, or both.
package config

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/flotilla-ipfs/flotilla/internal/slowclient"
)

// Config is service.json. One section per component; the JSON keys are the
// documented names, and FLOTILLA_<SECTION>_<KEY> overrides each of them.
type Config struct {
	Cluster Cluster `json:"cluster"`
	Raft    Raft    `json:"raft"`
	Proxy   Proxy   `json:"proxy"`
	API     API     `json:"api"`
	IPFS    IPFS    `json:"ipfs"`
	PinSvc  PinSvc  `json:"pinsvc"`
	Health  Health  `json:"health"`
	HTTP    HTTP    `json:"http"`
}

type Cluster struct {
	Peername string `json:"peername"`
	Secret   string `json:"secret"`
	// FollowerSecret admits read-only followers: a peer that proves it
	// instead of Secret may mirror the pinset and never change it.
	FollowerSecret       string            `json:"follower_secret"`
	Listen               string            `json:"listen"`
	ReplicationFactorMin int               `json:"replication_factor_min"`
	ReplicationFactorMax int               `json:"replication_factor_max"`
	LeaveOnShutdown      bool              `json:"leave_on_shutdown"`
	Tags                 map[string]string `json:"tags"`
	AllocateBy           []string          `json:"allocate_by"`
	RepinDelay           Duration          `json:"repin_delay"`
	// TLS for the cluster port, off unless all three are set. Relative
	// paths are relative to the home folder.
	TLSCertFile string `json:"tls_cert_file"`
	TLSKeyFile  string `json:"tls_key_file"`
	TLSCAFile   string `json:"tls_ca_file"`
}

type Raft struct {
	Voters            int      `json:"voters"`
	HeartbeatTimeout  Duration `json:"heartbeat_timeout"`
	ElectionTimeout   Duration `json:"election_timeout"`
	SnapshotThreshold int      `json:"snapshot_threshold"`
	SnapshotInterval  Duration `json:"snapshot_interval"`
	// BatchMaxPins and BatchMaxDelay bound group commit: how many concurrent
	// pin requests share one Raft entry, and how long the first one waits.
	BatchMaxPins  int      `json:"batch_max_pins"`
	BatchMaxDelay Duration `json:"batch_max_delay"`
}

type Proxy struct {
	Listen string `json:"listen"`
	// PinWait is "pinned" (pin add returns once a peer pinned the CID, Kubo's
	// promise) or "committed" (returns at the Raft commit, for ingest speed).
	PinWait        string   `json:"pin_wait"`
	AllowedOrigins []string `json:"allowed_origins"`
	// AllowedHosts are the Host names, besides loopback ones, that a
	// loopback proxy answers to (against DNS rebinding).
	AllowedHosts []string `json:"allowed_hosts"`
	// Authorizations follow Kubo's API.Authorizations: with any set, every
	// request needs a matching Authorization header, so that the proxy can
	// listen beyond loopback.
	Authorizations map[string]ProxyAuthorization `json:"authorizations" secret:"true"`
}

// ProxyAuthorization is one named secret and the paths it opens.
type ProxyAuthorization struct {
	// AuthSecret is "bearer:<token>", "basic:<user>:<password>" or a bare token.
	AuthSecret   string   `json:"auth_secret"`
	AllowedPaths []string `json:"allowed_paths"`
}

type API struct {
	Listen string `json:"listen"`
	// BasicAuthCredentials maps users to passwords. Empty means no auth,
	// which is why the API listens on loopback by default.
	BasicAuthCredentials map[string]string `json:"basic_auth_credentials" secret:"true"`
	// TokenTTL is how long a bearer token from POST /token lasts, and how
	// long a chain of tokens renewed from one login may last.
	TokenTTL Duration `json:"token_ttl"`
	// TokenSecret, when set, signs the tokens instead of the cluster
	// secret, so that changing it revokes every token without touching the
	// cluster. Every peer needs the same value.
	TokenSecret string `json:"token_secret"`
	// CORSAllowedOrigins turns CORS on for these origins; empty is off.
	// Any other origin a browser names is refused with 403.
	CORSAllowedOrigins []string `json:"cors_allowed_origins"`
	// AllowedHosts are the Host names, besides loopback ones, that a
	// loopback listener answers to (against DNS rebinding).
	AllowedHosts []string `json:"allowed_hosts"`
	// Pprof serves Go's profiles at /debug/pprof/, behind the API's guard
	// and credentials. Only with api.listen on loopback: a profile shows
	// the pins in flight and costs CPU while it runs.
	Pprof bool `json:"pprof"`
}

type IPFS struct {
	// API is the upstream IPFS RPC API: an http URL or a multiaddr.
	API               string   `json:"api"`
	ConcurrentPins    int      `json:"concurrent_pins"`
	PinTimeout        Duration `json:"pin_timeout"`
	UnpinTimeout      Duration `json:"unpin_timeout"`
	ReconcileInterval Duration `json:"reconcile_interval"`
}

type PinSvc struct {
	Listen string `json:"listen"`
	// Tokens are the bearer tokens the Pinning Service API accepts. With
	// none, it accepts any caller, so it listens on loopback by default.
	Tokens []string `json:"tokens"`
	// AllowedOrigins are the browser origins that may call the API (with
	// CORS); any other origin a browser names is refused with 403.
	AllowedOrigins []string `json:"allowed_origins"`
	// AllowedHosts are the Host names, besides loopback ones, that a
	// loopback listener answers to (against DNS rebinding).
	AllowedHosts []string `json:"allowed_hosts"`
}

// HTTP bounds what a client may hold of the three HTTP listeners (the
// proxy, the admin API, the Pinning Service API), which have no overall
// timeout since an upload or a pin may take hours. Zero turns a limit off.
type HTTP struct {
	// BodyIdleTimeout is the longest a read of a streamed body (an upload)
	// waits for the client's next bytes: nginx's client_body_timeout.
	BodyIdleTimeout Duration `json:"body_idle_timeout"`
	// BodyMinRate is the average, in bytes a second, that a streamed body
	// keeps up after its first BodyIdleTimeout (so only with one set):
	// Apache's MinRate.
	BodyMinRate int `json:"body_min_rate"`
	// BodyTimeout is how long a small body (the APIs' JSON) may take whole.
	BodyTimeout Duration `json:"body_timeout"`
	// SendTimeout is the longest a write of an answer waits for the client
	// to take bytes: nginx's send_timeout.
	SendTimeout Duration `json:"send_timeout"`
	// MaxConnections bounds each listener's connections at once; the next
	// gets a 503 in its API's error shape.
	MaxConnections int `json:"max_connections"`
}

type Health struct {
	HeartbeatInterval Duration `json:"heartbeat_interval"`
	HeartbeatTTL      Duration `json:"heartbeat_ttl"`
}

// Default is the configuration `flotilla init` writes, less the secrets and
// the peer name, which are generated per peer.
func Default() Config {
	return Config{
		Cluster: Cluster{
			Listen:               "0.0.0.0:9096",
			ReplicationFactorMin: -1,
			ReplicationFactorMax: -1,
			Tags:                 map[string]string{},
			AllocateBy:           []string{"freespace"},
			RepinDelay:           Duration(time.Minute),
		},
		Raft: Raft{
			Voters:            5,
			HeartbeatTimeout:  Duration(time.Second),
			ElectionTimeout:   Duration(time.Second),
			SnapshotThreshold: 8192,
			SnapshotInterval:  Duration(2 * time.Minute),
			BatchMaxPins:      512,
			BatchMaxDelay:     Duration(2 * time.Millisecond),
		},
		Proxy: Proxy{Listen: "127.0.0.1:9095", PinWait: "pinned", AllowedOrigins: []string{}, AllowedHosts: []string{}, Authorizations: map[string]ProxyAuthorization{}},
		API: API{
			Listen:               "127.0.0.1:9094",
			BasicAuthCredentials: map[string]string{},
			TokenTTL:             Duration(24 * time.Hour),
			CORSAllowedOrigins:   []string{},
			AllowedHosts:         []string{},
		},
		IPFS: IPFS{
			API:               "http://127.0.0.1:5001",
			ConcurrentPins:    10,
			PinTimeout:        Duration(2 * time.Minute),
			UnpinTimeout:      Duration(3 * time.Hour),
			ReconcileInterval: Duration(5 * time.Minute),
		},
		PinSvc: PinSvc{Listen: "127.0.0.1:9097", Tokens: []string{}, AllowedOrigins: []string{}, AllowedHosts: []string{}},
		Health: Health{
			HeartbeatInterval: Duration(2 * time.Second),
			HeartbeatTTL:      Duration(6 * time.Second),
		},
		HTTP: HTTP{
			BodyIdleTimeout: Duration(slowclient.DefaultIdle),
			BodyMinRate:     slowclient.DefaultMinRate,
			BodyTimeout:     Duration(slowclient.DefaultBodyDeadline),
			SendTimeout:     Duration(slowclient.DefaultSend),
			MaxConnections:  slowclient.DefaultMaxConns,
		},
	}
}

// Duration is a time.Duration written as a Go duration string ("2s", "1m").
type Duration time.Duration

func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a duration string such as \"2s\"")
	}
	return d.parse(s)
}

func (d *Duration) parse(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration such as \"2s\" or \"1m\"", s)
	}
	if v < 0 {
		return fmt.Errorf("%q is negative", s)
	}
	*d = Duration(v)
	return nil
}
