package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The incumbent, for the benchmarks that compare Flotilla with it:
// ipfs-cluster's own daemon (`make ipfs-cluster` builds it into ./bin), with
// Raft consensus, in front of a real Kubo, on fixed loopback ports. Its
// libp2p host probes the network, so it only ever runs inside a private
// network namespace (see bench_incumbent_test.go).

// incumbentPeer is one running ipfs-cluster-service daemon.
type incumbentPeer struct {
	t        testing.TB
	bin      string
	dir      string
	id       string
	swarm    string // libp2p multiaddr with /p2p/<id>
	proxyURL string // its IPFS proxy: http://127.0.0.1:port
	restURL  string
	cmd      *exec.Cmd
	exited   chan struct{}
}

// startIncumbentCluster starts one ipfs-cluster peer in front of each
// Kubo, all with the same secret and replication factors, joined through
// the first, and waits until every peer counts them all. Ports start at
// basePort (three per peer).
func startIncumbentCluster(t testing.TB, bin string, kubos []*kubo, replication, basePort int) []*incumbentPeer {
	t.Helper()
	secret := make([]byte, 32)
	rand.Read(secret)
	var peers []*incumbentPeer
	for i, k := range kubos {
		p := &incumbentPeer{t: t, bin: bin, dir: filepath.Join(t.TempDir(), "ipfs-cluster")}
		port := basePort + 3*i
		p.init(hex.EncodeToString(secret), k, replication, port)
		var bootstrap []string
		if i > 0 {
			bootstrap = []string{"--bootstrap", peers[0].swarm}
		}
		p.start(bootstrap...)
		peers = append(peers, p)
	}
	waitFor(t, "every ipfs-cluster peer to count all peers", 90*time.Second, func() bool {
		for _, p := range peers {
			if p.countPeers() != len(peers) {
				return false
			}
		}
		return true
	})
	return peers
}

// init writes the peer's configuration: only loopback TCP listeners, no
// mDNS, no pinning service API, Raft, and the given replication factors.
func (p *incumbentPeer) init(secret string, k *kubo, replication, port int) {
	p.t.Helper()
	out, err := exec.Command(p.bin, "--config", p.dir, "init", "--consensus", "raft", "--force").CombinedOutput()
	if err != nil {
		p.t.Fatalf("ipfs-cluster-service init: %v\n%s", err, out)
	}
	var ident struct{ ID string }
	readJSONFile(p.t, filepath.Join(p.dir, "identity.json"), &ident)
	p.id = ident.ID
	p.swarm = fmt.Sprintf("/ip4/127.0.0.1/tcp/%d/p2p/%s", port, p.id)
	p.proxyURL = fmt.Sprintf("http://127.0.0.1:%d", port+1)
	p.restURL = fmt.Sprintf("http://127.0.0.1:%d", port+2)

	cfgPath := filepath.Join(p.dir, "service.json")
	var cfg map[string]any
	readJSONFile(p.t, cfgPath, &cfg)
	cluster := section(cfg, "cluster")
	cluster["secret"] = secret
	cluster["listen_multiaddress"] = []string{fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", port)}
	cluster["mdns_interval"] = "0s"
	cluster["replication_factor_min"] = replication
	cluster["replication_factor_max"] = replication
	api := section(cfg, "api")
	delete(api, "pinsvcapi")
	section(api, "ipfsproxy")["listen_multiaddress"] = fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", port+1)
	section(api, "ipfsproxy")["node_multiaddress"] = k.api
	section(api, "restapi")["http_listen_multiaddress"] = fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", port+2)
	section(section(cfg, "ipfs_connector"), "ipfshttp")["node_multiaddress"] = k.api
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(cfgPath, b, 0o600); err != nil {
		p.t.Fatal(err)
	}
}

func (p *incumbentPeer) start(args ...string) {
	p.t.Helper()
	logFile, err := os.Create(filepath.Join(p.dir, "daemon.log"))
	if err != nil {
		p.t.Fatal(err)
	}
	p.cmd = exec.Command(p.bin, append([]string{"--config", p.dir, "daemon"}, args...)...)
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.exited = make(chan struct{})
	go func() { p.cmd.Wait(); logFile.Close(); close(p.exited) }()
	p.t.Cleanup(p.stop)
	waitFor(p.t, "ipfs-cluster's REST API and proxy", 60*time.Second, func() bool {
		select {
		case <-p.exited:
			p.t.Fatalf("ipfs-cluster-service exited:\n%s", p.logs())
		default:
		}
		return answers(p.restURL+"/id", http.MethodGet) && answers(p.proxyURL+"/api/v0/version", http.MethodPost)
	})
}

func (p *incumbentPeer) stop() {
	if p.cmd == nil {
		return
	}
	terminate(p.cmd.Process, p.exited)
	p.cmd = nil
}

func (p *incumbentPeer) logs() string {
	b, _ := os.ReadFile(filepath.Join(p.dir, "daemon.log"))
	return string(b)
}

// countPeers is how many peers its REST API lists (a stream of objects).
func (p *incumbentPeer) countPeers() int {
	resp, err := http.Get(p.restURL + "/peers")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	n := 0
	for dec := json.NewDecoder(resp.Body); ; n++ {
		var peer struct{ ID string }
		if dec.Decode(&peer) != nil || peer.ID == "" {
			return n
		}
	}
}

var raftLeaderLine = regexp.MustCompile(`Current Raft Leader: (\S+)`)

// leader is the Raft leader this peer last logged.
func (p *incumbentPeer) leader() string {
	m := raftLeaderLine.FindAllStringSubmatch(p.logs(), -1)
	if len(m) == 0 {
		return ""
	}
	return m[len(m)-1][1]
}

// incumbentFollower returns a peer that is not the Raft leader, by the
// leader each peer logged.
func incumbentFollower(t testing.TB, peers []*incumbentPeer) *incumbentPeer {
	t.Helper()
	var leader string
	waitFor(t, "ipfs-cluster peers to log their Raft leader", 30*time.Second, func() bool {
		leader = peers[len(peers)-1].leader()
		return leader != ""
	})
	for _, p := range peers {
		if p.id != leader && !strings.HasPrefix(leader, p.id) {
			return p
		}
	}
	t.Fatalf("no ipfs-cluster follower: the leader %s is every peer", leader)
	return nil
}

func answers(url, method string) bool {
	req, _ := http.NewRequest(method, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func readJSONFile(t testing.TB, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// section returns m[key] as an object, making it when missing.
func section(m map[string]any, key string) map[string]any {
	s, ok := m[key].(map[string]any)
	if !ok {
		s = map[string]any{}
		m[key] = s
	}
	return s
}
