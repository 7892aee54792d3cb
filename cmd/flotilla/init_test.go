package main

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flotilla-ipfs/flotilla/internal/version"
)

func TestInitWritesConfigAndIdentityAndRefusesToOverwrite(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	r := runCLI(t, []string{"FLOTILLA_PATH=" + home}, nil, "init")
	if r.code != 0 {
		t.Fatalf("init: %d %s", r.code, r.stderr)
	}
	var ident struct {
		ID         string `json:"id"`
		PrivateKey string `json:"private_key"`
	}
	b, err := os.ReadFile(filepath.Join(home, "identity.json"))
	if err != nil || json.Unmarshal(b, &ident) != nil || !strings.HasPrefix(ident.ID, "12D3KooW") || ident.PrivateKey == "" {
		t.Fatalf("identity.json: %s %v", b, err)
	}
	if info, _ := os.Stat(filepath.Join(home, "identity.json")); info.Mode().Perm() != 0o600 {
		t.Fatalf("identity.json is %v, want 0600: it holds a private key", info.Mode().Perm())
	}
	var cfg struct {
		Cluster struct {
			Secret         string
			FollowerSecret string `json:"follower_secret"`
		} `json:"cluster"`
	}
	b, _ = os.ReadFile(filepath.Join(home, "service.json"))
	if json.Unmarshal(b, &cfg) != nil || len(cfg.Cluster.Secret) != 64 {
		t.Fatalf("service.json has no 64-character secret: %s", b)
	}
	if len(cfg.Cluster.FollowerSecret) != 64 || cfg.Cluster.FollowerSecret == cfg.Cluster.Secret {
		t.Fatalf("service.json has no 64-character follower secret of its own: %s", b)
	}

	r = runCLI(t, []string{"FLOTILLA_PATH=" + home}, nil, "init")
	if r.code == 0 || !strings.Contains(r.stderr, "--force") {
		t.Fatalf("second init without --force: %d %q", r.code, r.stderr)
	}
	r = runCLI(t, nil, nil, "--path", home, "init", "--force")
	if r.code != 0 {
		t.Fatalf("init --force: %d %s", r.code, r.stderr)
	}
	b, _ = os.ReadFile(filepath.Join(home, "identity.json"))
	if strings.Contains(string(b), ident.ID) {
		t.Fatal("init --force kept the old identity")
	}
}

// A peer made to join a cluster is initialised with the cluster's secrets
// from the environment, which init writes into its service.json: every
// later start has them, as ipfs-cluster-service init takes CLUSTER_SECRET.
// A malformed one is refused, naming its variable.
func TestInitTakesTheClusterSecretsFromTheEnvironment(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	secret, follower := strings.Repeat("ab", 32), strings.Repeat("cd", 32)
	r := runCLI(t, []string{"FLOTILLA_PATH=" + home, "FLOTILLA_CLUSTER_SECRET=" + secret, "FLOTILLA_CLUSTER_FOLLOWER_SECRET=" + follower}, nil, "init")
	if r.code != 0 {
		t.Fatalf("init: %d %s", r.code, r.stderr)
	}
	b, _ := os.ReadFile(filepath.Join(home, "service.json"))
	if !strings.Contains(string(b), `"secret": "`+secret+`"`) || !strings.Contains(string(b), `"follower_secret": "`+follower+`"`) {
		t.Fatalf("service.json lacks the secrets of the environment:\n%s", b)
	}
	r = runCLI(t, []string{"FLOTILLA_PATH=" + filepath.Join(t.TempDir(), "other"), "FLOTILLA_CLUSTER_SECRET=nothex"}, nil, "init")
	if r.code == 0 || !strings.Contains(r.stderr, "FLOTILLA_CLUSTER_SECRET") || strings.Contains(r.stderr, "nothex") {
		t.Fatalf("init with a malformed secret: %d %q, want a refusal naming the variable, not the value", r.code, r.stderr)
	}
}

// version prints the commit the binary was built from, as GET /id does.
func TestVersionPrintsTheCommit(t *testing.T) {
	defer func(c string) { version.Commit = c }(version.Commit)
	version.Commit = "abc1234"
	if r := runCLI(t, nil, nil, "version"); r.code != 0 || r.stdout != "flotilla "+version.Version+" (commit abc1234)\n" {
		t.Fatalf("version: %s", r)
	}
	version.Commit = ""
	if r := runCLI(t, nil, nil, "version"); r.code != 0 || r.stdout != "flotilla "+version.Version+"\n" {
		t.Fatalf("version of a build without a commit: %s", r)
	}
}

func TestVersionAndUnknownCommand(t *testing.T) {
	if r := runCLI(t, nil, nil, "version"); r.code != 0 || strings.TrimSpace(r.stdout) == "" {
		t.Fatalf("version: %d %q", r.code, r.stdout)
	}
	if r := runCLI(t, nil, nil, "frobnicate"); r.code != 2 || !strings.Contains(r.stderr, "unknown command") {
		t.Fatalf("unknown command: %d %q", r.code, r.stderr)
	}
}

func TestDaemonFollowAndBootstrapExcludeEachOther(t *testing.T) {
	r := runCLI(t, nil, nil, "daemon", "--follow", "127.0.0.1:1", "--bootstrap", "127.0.0.1:2")
	if r.code != 2 || !strings.Contains(r.stderr, "--follow and --bootstrap exclude each other") {
		t.Fatalf("daemon --follow --bootstrap: %d %q", r.code, r.stderr)
	}
}

func TestAFollowerWithoutTheFollowerSecretSaysWhichKey(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	r := runCLI(t, daemonEnv(home, "FLOTILLA_CLUSTER_FOLLOWER_SECRET="), nil, "daemon", "--init", "--follow", "127.0.0.1:1")
	if r.code != 1 || !strings.Contains(r.stderr, "cluster.follower_secret") {
		t.Fatalf("a follower without the follower secret: %d %q", r.code, r.stderr)
	}
}

// A listen address in use is blamed on the variable that gave it, not on
// service.json, which may hold another address.
func TestAListenAddressInUseNamesTheVariableThatGaveIt(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	home := filepath.Join(t.TempDir(), "home")
	env := []string{
		"FLOTILLA_PATH=" + home,
		"FLOTILLA_CLUSTER_LISTEN=127.0.0.1:0", "FLOTILLA_API_LISTEN=" + taken.Addr().String(),
		"FLOTILLA_PROXY_LISTEN=127.0.0.1:0", "FLOTILLA_PINSVC_LISTEN=127.0.0.1:0",
		"FLOTILLA_IPFS_API=http://127.0.0.1:1",
	}
	r := runCLI(t, env, nil, "daemon", "--init")
	want := "environment variable FLOTILLA_API_LISTEN: api.listen: "
	if r.code != 1 || !strings.Contains(r.stderr, want) {
		t.Fatalf("daemon with api.listen in use: %d %q, want %q", r.code, r.stderr, want)
	}
}
