package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "service.json")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func validConfig(t *testing.T) Config {
	t.Helper()
	cfg := Default()
	s, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Cluster.Secret = s
	cfg.Cluster.Peername = "p1"
	return cfg
}

func TestSavedDefaultsLoadBack(t *testing.T) {
	cfg := validConfig(t)
	p := filepath.Join(t.TempDir(), "service.json")
	if err := Save(p, cfg); err != nil {
		t.Fatal(err)
	}
	got, err := Load(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Proxy.Listen != "127.0.0.1:9095" || got.API.Listen != "127.0.0.1:9094" ||
		got.Cluster.Listen != "0.0.0.0:9096" || got.PinSvc.Listen != "127.0.0.1:9097" ||
		got.IPFS.API != "http://127.0.0.1:5001" || got.Cluster.ReplicationFactorMin != -1 ||
		got.Cluster.ReplicationFactorMax != -1 || got.Cluster.Secret != cfg.Cluster.Secret {
		t.Fatalf("defaults did not survive a save and load: %+v", got)
	}
}

func TestEnvironmentOverridesEveryKind(t *testing.T) {
	cfg := validConfig(t)
	p := filepath.Join(t.TempDir(), "service.json")
	if err := Save(p, cfg); err != nil {
		t.Fatal(err)
	}
	got, err := Load(p, []string{
		"FLOTILLA_PROXY_LISTEN=127.0.0.1:19095",
		"FLOTILLA_CLUSTER_REPLICATION_FACTOR_MIN=2",
		"FLOTILLA_CLUSTER_REPLICATION_FACTOR_MAX=3",
		"FLOTILLA_CLUSTER_TAGS=region=eu, rack=r1",
		"FLOTILLA_CLUSTER_ALLOCATE_BY=tag:region,freespace",
		"FLOTILLA_CLUSTER_LEAVE_ON_SHUTDOWN=true",
		"FLOTILLA_HEALTH_HEARTBEAT_INTERVAL=500ms",
		`FLOTILLA_PROXY_AUTHORIZATIONS={"ci":{"auth_secret":"bearer:t","allowed_paths":["/api/v0"]}}`,
		"FLOTILLA_PINSVC_ALLOWED_ORIGINS=https://ui.example, http://localhost:3000",
		"FLOTILLA_PINSVC_ALLOWED_HOSTS=pins.example",
		"FLOTILLA_API_ALLOWED_HOSTS=admin.example,admin.example:8443",
		"FLOTILLA_API_TOKEN_SECRET=" + strings.Repeat("x", 32),
		"FLOTILLA_CLUSTER_FOLLOWER_SECRET=" + strings.Repeat("cd", 32),
		"FLOTILLA_API_PPROF=true",
		"UNRELATED=1",
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Proxy.Listen != "127.0.0.1:19095" || got.Cluster.ReplicationFactorMin != 2 ||
		got.Cluster.ReplicationFactorMax != 3 || got.Cluster.Tags["region"] != "eu" ||
		got.Cluster.Tags["rack"] != "r1" || len(got.Cluster.AllocateBy) != 2 ||
		!got.Cluster.LeaveOnShutdown || got.Health.HeartbeatInterval.D() != 500*time.Millisecond ||
		got.Proxy.Authorizations["ci"].AuthSecret != "bearer:t" ||
		strings.Join(got.PinSvc.AllowedOrigins, " ") != "https://ui.example http://localhost:3000" ||
		strings.Join(got.PinSvc.AllowedHosts, " ") != "pins.example" || len(got.API.AllowedHosts) != 2 ||
		got.API.TokenSecret != strings.Repeat("x", 32) || got.Cluster.FollowerSecret != strings.Repeat("cd", 32) || !got.API.Pprof {
		t.Fatalf("overrides not applied: %+v", got)
	}
}

func TestBadConfigNamesKeyAndSource(t *testing.T) {
	secret := strings.Repeat("ab", 32)
	cases := []struct {
		name, body string
		env        []string
		want       []string
	}{
		{"unknown key", `{"proxy":{"listne":"127.0.0.1:1"},"cluster":{"secret":"` + secret + `"}}`, nil, []string{"proxy.listne", "unknown key"}},
		{"unknown section", `{"proxxy":{},"cluster":{"secret":"` + secret + `"}}`, nil, []string{"proxxy", "unknown section"}},
		{"wrong type", `{"cluster":{"secret":"` + secret + `","replication_factor_min":"two"}}`, nil, []string{"cluster.replication_factor_min", "want an integer"}},
		{"bad address", `{"api":{"listen":"nowhere"},"cluster":{"secret":"` + secret + `"}}`, nil, []string{"api.listen", "host:port"}},
		{"short secret", `{"cluster":{"secret":"abcd"}}`, nil, []string{"cluster.secret", "64 hex"}},
		{"bad duration", `{"cluster":{"secret":"` + secret + `","repin_delay":"soon"}}`, nil, []string{"cluster.repin_delay", "duration"}},
		{"bad env", `{"cluster":{"secret":"` + secret + `"}}`, []string{"FLOTILLA_RAFT_VOTERS=many"}, []string{"FLOTILLA_RAFT_VOTERS", "raft.voters"}},
		{"min above max", `{"cluster":{"secret":"` + secret + `","replication_factor_min":3,"replication_factor_max":2}}`, nil, []string{"replication_factor_min", "larger than max"}},
		{"max of zero", `{"cluster":{"secret":"` + secret + `","replication_factor_min":3,"replication_factor_max":0}}`, nil, []string{"cluster.replication_factor_max:", "positive or -1"}},
		{"origin with a path", `{"api":{"cors_allowed_origins":["https://ui.example/"]},"cluster":{"secret":"` + secret + `"}}`, nil, []string{"api.cors_allowed_origins", "without a path"}},
		{"origin wildcard", `{"cluster":{"secret":"` + secret + `"}}`, []string{"FLOTILLA_PINSVC_ALLOWED_ORIGINS=https://*.example"}, []string{"pinsvc.allowed_origins", "only wildcard"}},
		{"origin without scheme", `{"pinsvc":{"allowed_origins":["ui.example:3000"]},"cluster":{"secret":"` + secret + `"}}`, nil, []string{"pinsvc.allowed_origins", "scheme://host"}},
		{"host with a scheme", `{"api":{"allowed_hosts":["https://admin.example"]},"cluster":{"secret":"` + secret + `"}}`, nil, []string{"api.allowed_hosts", "not a host name"}},
		{"proxy host with a path", `{"cluster":{"secret":"` + secret + `"}}`, []string{"FLOTILLA_PROXY_ALLOWED_HOSTS=ipfs.lan/x"}, []string{"proxy.allowed_hosts", "not a host name"}},
		{"short follower secret", `{"cluster":{"secret":"` + secret + `","follower_secret":"abcd"}}`, nil, []string{"cluster.follower_secret", "64 hex"}},
		{"follower secret from env equal to the secret", `{"cluster":{"secret":"` + secret + `"}}`, []string{"FLOTILLA_CLUSTER_FOLLOWER_SECRET=" + strings.ToUpper(secret)}, []string{"cluster.follower_secret", "must differ"}},
		{"short token secret", `{"api":{"token_secret":"hunter2"},"cluster":{"secret":"` + secret + `"}}`, nil, []string{"api.token_secret", "at least 32"}},
		{"negative min rate", `{"http":{"body_min_rate":-1},"cluster":{"secret":"` + secret + `"}}`, nil, []string{"http.body_min_rate", "negative"}},
		{"negative connection limit", `{"cluster":{"secret":"` + secret + `"}}`, []string{"FLOTILLA_HTTP_MAX_CONNECTIONS=-5"}, []string{"http.max_connections", "negative"}},
		{"heartbeat timeout under Raft's floor", `{"raft":{"heartbeat_timeout":"1ms"},"cluster":{"secret":"` + secret + `"}}`, nil, []string{"raft.heartbeat_timeout", "at least 10ms"}},
		{"heartbeat timeout whose leader lease is under Raft's floor", `{"cluster":{"secret":"` + secret + `"}}`, []string{"FLOTILLA_RAFT_HEARTBEAT_TIMEOUT=9ms", "FLOTILLA_RAFT_ELECTION_TIMEOUT=9ms"}, []string{"FLOTILLA_RAFT_HEARTBEAT_TIMEOUT", "raft.heartbeat_timeout", "at least 10ms"}},
		{"election timeout under the heartbeat's", `{"raft":{"election_timeout":"10ms"},"cluster":{"secret":"` + secret + `"}}`, nil, []string{"raft.election_timeout", "shorter than raft.heartbeat_timeout (1s)"}},
		{"snapshot interval under Raft's floor", `{"raft":{"snapshot_interval":"1ms"},"cluster":{"secret":"` + secret + `"}}`, nil, []string{"raft.snapshot_interval", "at least 5ms"}},
		{"negative snapshot threshold", `{"cluster":{"secret":"` + secret + `"}}`, []string{"FLOTILLA_RAFT_SNAPSHOT_THRESHOLD=-1"}, []string{"FLOTILLA_RAFT_SNAPSHOT_THRESHOLD", "raft.snapshot_threshold", "negative"}},
		{"no heartbeat interval", `{"health":{"heartbeat_interval":"0s"},"cluster":{"secret":"` + secret + `"}}`, nil, []string{"health.heartbeat_interval:", "longer than 0s"}},
		{"unknown allocation criterion", `{"cluster":{"secret":"` + secret + `"}}`, []string{"FLOTILLA_CLUSTER_ALLOCATE_BY=freespace,bogus"}, []string{"environment variable FLOTILLA_CLUSTER_ALLOCATE_BY", "cluster.allocate_by", `"bogus"`, "freespace, pincount or tag:<name>"}},
		{"misspelt tag criterion", `{"cluster":{"secret":"` + secret + `","allocate_by":["tags:region"]}}`, nil, []string{"cluster.allocate_by", `"tags:region"`, "tag:<name>"}},
		{"tag criterion without a name", `{"cluster":{"secret":"` + secret + `","allocate_by":["tag:"]}}`, nil, []string{"cluster.allocate_by", `"tag:"`}},
		{"empty admin password", `{"cluster":{"secret":"` + secret + `"}}`, []string{"FLOTILLA_API_BASIC_AUTH_CREDENTIALS=admin="}, []string{"FLOTILLA_API_BASIC_AUTH_CREDENTIALS", "api.basic_auth_credentials", `user "admin" has an empty password`}},
		{"empty admin user", `{"api":{"basic_auth_credentials":{"":"UiPassWordLong1"}},"cluster":{"secret":"` + secret + `"}}`, nil, []string{"api.basic_auth_credentials", "empty name"}},
		{"proxy allowed path that is no path", `{"proxy":{"authorizations":{"ci":{"auth_secret":"bearer:t0ken","allowed_paths":["/api/v0/add","nope"]}}},"cluster":{"secret":"` + secret + `"}}`, nil, []string{"proxy.authorizations", `"ci" allows "nope"`, "not a path"}},
		{"empty proxy secret", `{"cluster":{"secret":"` + secret + `"}}`, []string{`FLOTILLA_PROXY_AUTHORIZATIONS={"ci":{"auth_secret":"bearer:","allowed_paths":["/api/v0"]}}`}, []string{"FLOTILLA_PROXY_AUTHORIZATIONS", "proxy.authorizations", `"ci" has an empty auth_secret`}},
		{"pprof beyond loopback", `{"api":{"listen":"0.0.0.0:9094","pprof":true},"cluster":{"secret":"` + secret + `"}}`, nil, []string{"api.pprof", "loopback"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := writeConfig(t, tc.body)
			_, err := Load(p, tc.env)
			if err == nil {
				t.Fatal("bad config accepted")
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("not a config error: %v", err)
			}
			msg := err.Error()
			if tc.env == nil && !strings.Contains(msg, p) {
				t.Errorf("message %q does not name the file", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q lacks %q", msg, w)
				}
			}
		})
	}
}

// A map that holds credentials is never echoed by its error, whatever its
// shape: the message goes to logs and terminals. Other maps are quoted, to
// show the operator the pair at fault.
func TestAMalformedMapOfCredentialsIsNotEchoed(t *testing.T) {
	p := writeConfig(t, `{"cluster":{"secret":"`+strings.Repeat("ab", 32)+`"}}`)
	for _, v := range []string{"admin:hunter2", "ops=x,admin:hunter2", `{"admin":"hunter2"`} {
		_, err := Load(p, []string{"FLOTILLA_API_BASIC_AUTH_CREDENTIALS=" + v})
		if err == nil || !strings.Contains(err.Error(), "api.basic_auth_credentials") || !strings.Contains(err.Error(), "key=value") {
			t.Fatalf("%q: %v, want an error that names the key and the format", v, err)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Fatalf("the password is in the error: %v", err)
		}
	}
	_, err := Load(p, []string{"FLOTILLA_CLUSTER_TAGS=region"})
	if err == nil || !strings.Contains(err.Error(), `"region" is not a key=value pair`) {
		t.Fatalf("tags: %v, want the pair quoted", err)
	}
}

func TestIdentityRoundTripAndTamper(t *testing.T) {
	ident, err := NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ident.ID, "12D3KooW") {
		t.Fatalf("peer ID %q is not an Ed25519 libp2p ID", ident.ID)
	}
	p := filepath.Join(t.TempDir(), "identity.json")
	if err := SaveIdentity(p, ident); err != nil {
		t.Fatal(err)
	}
	got, _, err := LoadIdentity(p)
	if err != nil || got.ID != ident.ID {
		t.Fatalf("load: %v %v", got, err)
	}
	other, _ := NewIdentity()
	ident.ID = other.ID
	if err := SaveIdentity(p, ident); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadIdentity(p); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("tampered identity accepted: %v", err)
	}
}

// A value that fails validation is blamed on where it was written: the
// variable that overrode the key, else the file, so that the operator
// edits the right one.
func TestAnInvalidValueNamesTheVariableThatSetIt(t *testing.T) {
	p := writeConfig(t, `{"cluster":{"secret":"`+strings.Repeat("ab", 32)+`","peername":"p1"},"raft":{"voters":0}}`)
	for _, tc := range []struct {
		env  []string
		want string
	}{
		{[]string{"FLOTILLA_CLUSTER_REPLICATION_FACTOR_MIN=3"},
			"environment variable FLOTILLA_CLUSTER_REPLICATION_FACTOR_MIN: cluster.replication_factor_min: "},
		{[]string{"FLOTILLA_CLUSTER_REPLICATION_FACTOR_MAX=2"},
			"environment variable FLOTILLA_CLUSTER_REPLICATION_FACTOR_MAX: cluster.replication_factor_max: "},
		{[]string{"FLOTILLA_CLUSTER_REPLICATION_FACTOR_MIN=2", "FLOTILLA_CLUSTER_REPLICATION_FACTOR_MAX=0"},
			"environment variable FLOTILLA_CLUSTER_REPLICATION_FACTOR_MAX: cluster.replication_factor_max: "},
		{[]string{"FLOTILLA_CLUSTER_SECRET=abc"}, "environment variable FLOTILLA_CLUSTER_SECRET: cluster.secret: must be 64 hex"},
		{[]string{"FLOTILLA_CLUSTER_PEERNAME=p2"}, p + ": raft.voters: "},
	} {
		_, err := Load(p, tc.env)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("with %q: %v, want it to start %q", tc.env, err, tc.want)
		}
	}
}

// Validate's floors on the Raft timings are hashicorp/raft's own: what
// Validate accepts, Raft starts with, and what it refuses, Raft would have
// refused. The leader lease is derived as cluster/raft.go derives it.
func TestRaftTimingFloorsAreRaftsOwn(t *testing.T) {
	for _, tc := range []struct {
		heartbeat, election, snapshot time.Duration
	}{
		{2 * raftMinTimeout, 2 * raftMinTimeout, raftMinTimeout},
		{2*raftMinTimeout - 1, time.Second, time.Minute},
		{time.Second, time.Second - 1, time.Minute},
		{time.Second, time.Second, raftMinTimeout - 1},
	} {
		cfg := validConfig(t)
		cfg.Raft.HeartbeatTimeout, cfg.Raft.ElectionTimeout, cfg.Raft.SnapshotInterval =
			Duration(tc.heartbeat), Duration(tc.election), Duration(tc.snapshot)
		rc := raft.DefaultConfig()
		rc.LocalID = "p1"
		rc.HeartbeatTimeout, rc.ElectionTimeout, rc.SnapshotInterval = tc.heartbeat, tc.election, tc.snapshot
		rc.LeaderLeaseTimeout = min(tc.heartbeat/2, rc.LeaderLeaseTimeout)
		ours, raftsOwn := cfg.Validate(), raft.ValidateConfig(rc)
		if (ours == nil) != (raftsOwn == nil) {
			t.Errorf("%+v: Validate says %v, Raft says %v", tc, ours, raftsOwn)
		}
	}
}
