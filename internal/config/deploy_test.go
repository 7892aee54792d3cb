package config

import (
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Every FLOTILLA_ setting in docker-compose.yml and the Dockerfile is a
// configuration key, and each peer's resulting configuration is valid.
func TestComposeSettingsAreConfigurationKeys(t *testing.T) {
	f := loadCompose(t)
	image, _ := dockerfileEnv(t)
	vars := envExample(t)
	keys := EnvKeys()
	for name, s := range f.Services {
		for k := range s.Environment {
			if strings.HasPrefix(k, EnvPrefix) && !slices.Contains(keys, k) {
				t.Errorf("service %s sets %s, which is no configuration key (see config.EnvKeys)", name, k)
			}
		}
	}
	for k := range image {
		// FLOTILLA_PATH is the home folder, read before any configuration.
		if strings.HasPrefix(k, EnvPrefix) && k != "FLOTILLA_PATH" && !slices.Contains(keys, k) {
			t.Errorf("the Dockerfile sets %s, which is no configuration key", k)
		}
	}
	peers := f.peers()
	if len(peers) != 3 {
		t.Fatalf("Flotilla peers built from the Dockerfile: %v, want three", peers)
	}
	for _, name := range peers {
		cfg, err := loadAs(t, containerEnv(t, image, f.Services[name], vars))
		if err != nil {
			t.Errorf("peer %s does not start: %v", name, err)
		}
		// One secret for the three, from the operator's .env.
		if cfg.Cluster.Secret != vars["FLOTILLA_CLUSTER_SECRET"] {
			t.Errorf("peer %s does not take cluster.secret from .env's FLOTILLA_CLUSTER_SECRET", name)
		}
		// And one follower secret: a follower must follow whichever leads.
		if cfg.Cluster.FollowerSecret != vars["FLOTILLA_CLUSTER_FOLLOWER_SECRET"] {
			t.Errorf("peer %s does not take cluster.follower_secret from .env's FLOTILLA_CLUSTER_FOLLOWER_SECRET", name)
		}
	}
}

// Each peer listens beyond the container's loopback, publishes only its
// listeners' ports, is dialed at its fixed cluster address, and sits in
// front of its own Kubo of the Makefile's version. The first peer publishes
// the proxy on 9095 and the admin API on 9094.
func TestComposePortsMatchListenAddresses(t *testing.T) {
	f := loadCompose(t)
	image, _ := dockerfileEnv(t)
	vars := envExample(t)
	kubo := "ipfs/kubo:" + makefileKuboVersion(t)

	clusterAddrs := map[string]string{} // cluster address → peer
	var starters []string
	joins := map[string][]string{}   // peer → the addresses it joins through
	upstreams := map[string]string{} // Kubo service → peer
	for _, name := range f.peers() {
		s := f.Services[name]
		cfg, err := loadAs(t, containerEnv(t, image, s, vars))
		if err != nil {
			t.Fatalf("peer %s: %v", name, err)
		}
		listens := map[string]string{
			"proxy.listen":   cfg.Proxy.Listen,
			"api.listen":     cfg.API.Listen,
			"pinsvc.listen":  cfg.PinSvc.Listen,
			"cluster.listen": cfg.Cluster.Listen,
		}
		byPort := map[string]string{}
		for key, addr := range listens {
			host, _, _ := net.SplitHostPort(addr)
			if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
				t.Errorf("peer %s: %s is %s, unreachable from outside its container", name, key, addr)
			}
			byPort[listenPort(t, addr)] = key
		}
		published := map[string]string{}
		for _, p := range s.Ports {
			key, ok := byPort[p.Target]
			if !ok {
				t.Errorf("peer %s publishes container port %s, where nothing listens (%v)", name, p.Target, listens)
			}
			published[p.Published] = key
		}

		host, _, _ := net.SplitHostPort(cfg.Cluster.Listen)
		if !slices.ContainsFunc(mapValues(s.Networks), func(n composeNetwork) bool { return n.IPv4Address == host }) {
			t.Errorf("peer %s: cluster.listen %s is not its fixed address on a network %v: Raft would keep an address that changes", name, cfg.Cluster.Listen, s.Networks)
		}
		clusterAddrs[cfg.Cluster.Listen] = name

		bootstrap := flagValue(s.Command, "--bootstrap")
		if bootstrap == "" {
			starters = append(starters, name)
			if published["9095"] != "proxy.listen" || published["9094"] != "api.listen" {
				t.Errorf("the first peer %s publishes %v, want 9095 for proxy.listen and 9094 for api.listen", name, published)
			}
		}
		if bootstrap != "" {
			joins[name] = strings.Split(bootstrap, ",")
		}

		u, err := url.Parse(cfg.IPFS.API)
		if err != nil || u.Port() != "5001" || f.Services[u.Hostname()].Image != kubo {
			t.Errorf("peer %s: ipfs.api %s is not the Kubo API of a %s service", name, cfg.IPFS.API, kubo)
		}
		if other, ok := upstreams[u.Hostname()]; ok {
			t.Errorf("peers %s and %s share the Kubo %s", other, name, u.Hostname())
		}
		upstreams[u.Hostname()] = name
	}
	for name, addrs := range joins {
		for _, addr := range addrs {
			if peer, ok := clusterAddrs[addr]; !ok || peer == name {
				t.Errorf("peer %s joins through %s, no other peer's cluster.listen (%v)", name, addr, clusterAddrs)
			}
		}
	}
	if len(starters) != 1 {
		t.Errorf("peers started without --bootstrap: %v, want exactly one to start the cluster", starters)
	}
}

// The image runs the binary once at build time: a binary that cannot run on
// the runtime image fails `docker build`, not the first deployment.
func TestDockerfileRunsAFlotillaVersionSmokeStep(t *testing.T) {
	_, final := dockerfileEnv(t)
	smoke := regexp.MustCompile(`^RUN \["[^"]*/flotilla",\s*"version"\]$`)
	if !slices.ContainsFunc(final, smoke.MatchString) {
		t.Errorf("the Dockerfile's final stage has no `RUN [\".../flotilla\", \"version\"]`:\n%s", strings.Join(final, "\n"))
	}
}

// The image builds with the Go that go.mod asks for: the golang image runs
// with GOTOOLCHAIN=local, so an older minor version fails the build.
func TestDockerfileBuildsWithTheGoOfGoMod(t *testing.T) {
	gomod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	want := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(gomod)
	dockerfile, err := os.ReadFile(dockerfilePath)
	if err != nil {
		t.Fatal(err)
	}
	got := regexp.MustCompile(`(?m)^FROM golang:(\d+\.\d+)`).FindSubmatch(dockerfile)
	if want == nil || got == nil {
		t.Fatalf("no go line in go.mod (%q) or no FROM golang:X.Y in the Dockerfile (%q)", want, got)
	}
	if string(got[1]) != string(want[1]) {
		t.Errorf("the Dockerfile builds with golang:%s, go.mod wants go %s", got[1], want[1])
	}
}

func makefileKuboVersion(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(makefilePath)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^KUBO_VERSION\s*\?=\s*(\S+)`).FindSubmatch(raw)
	if m == nil {
		t.Fatal("the Makefile sets no KUBO_VERSION")
	}
	return string(m[1])
}

// flagValue is the value after name in a command line, or "".
func flagValue(args []string, name string) string {
	for i, a := range args {
		if a == name && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
	}
	return ""
}

func mapValues[K comparable, V any](m map[K]V) []V {
	out := make([]V, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
