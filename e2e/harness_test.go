// Package e2e runs the real flotilla binary in front of real Kubo daemons.
// `make test` builds both into ./bin and sets FLOTILLA_E2E=1; without it,
// or with -short, these tests skip, so that `go test ./...` stays fast on a
// laptop. With it, a missing binary or client fails the test.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/flotilla-ipfs/flotilla/internal/testkit"
)

func binaries(t testing.TB) (flotilla, ipfs string) {
	t.Helper()
	flotilla, ipfs = os.Getenv("FLOTILLA_BIN"), os.Getenv("IPFS_BIN")
	if !e2eEnabled() {
		t.Skip("end-to-end test: run `make test` (sets FLOTILLA_E2E=1 and builds ./bin); -short skips it")
	}
	for _, b := range []string{flotilla, ipfs} {
		if _, err := os.Stat(b); b == "" || err != nil {
			t.Fatalf("end-to-end binary %q missing: run `make build kubo`", b)
		}
	}
	return flotilla, ipfs
}

// e2eEnabled is the one gate of these tests: FLOTILLA_E2E set, and not
// -short (so that `make test-unit` stays a unit run even where the
// Makefile exports the binaries' paths).
func e2eEnabled() bool { return os.Getenv("FLOTILLA_E2E") != "" && !testing.Short() }

// kubo is a real Kubo daemon with its own repo, on loopback only.
type kubo struct {
	t    testing.TB
	bin  string
	repo string
	api  string // multiaddr, e.g. /ip4/127.0.0.1/tcp/40123
	url  string // http://127.0.0.1:40123
	cmd  *exec.Cmd
	// netns is the network namespace it runs in, "" for the test's own
	// (netlab_test.go).
	netns string
}

func startKubo(t testing.TB, bin string) *kubo {
	t.Helper()
	return startKuboAt(t, bin, "/ip4/127.0.0.1/tcp/0")
}

// startKuboAt starts a Kubo whose API listens on api: a fixed port lets it
// come back where its peer expects it after a stop.
func startKuboAt(t testing.TB, bin, api string) *kubo {
	t.Helper()
	return startKuboIn(t, bin, api, "")
}

// startKuboIn starts a Kubo in network namespace netns: api is then on that
// namespace's loopback.
func startKuboIn(t testing.TB, bin, api, netns string) *kubo {
	t.Helper()
	k := &kubo{t: t, bin: bin, repo: filepath.Join(t.TempDir(), "ipfs"), netns: netns}
	k.run("init", "--profile", "test")
	k.run("config", "--json", "Addresses.Swarm", `["/ip4/127.0.0.1/tcp/0"]`)
	k.run("config", "Addresses.API", api)
	k.run("config", "Addresses.Gateway", "/ip4/127.0.0.1/tcp/0")
	k.start()
	t.Cleanup(k.stop)
	return k
}

func (k *kubo) start() {
	k.t.Helper()
	os.Remove(filepath.Join(k.repo, "api"))
	k.cmd = command(k.netns, k.bin, "daemon", "--offline", "--enable-gc=false")
	k.cmd.Env = append(os.Environ(), "IPFS_PATH="+k.repo)
	var out bytes.Buffer
	k.cmd.Stdout, k.cmd.Stderr = &out, &out
	if err := k.cmd.Start(); err != nil {
		k.t.Fatal(err)
	}
	waitFor(k.t, "Kubo API file", 60*time.Second, func() bool {
		b, err := os.ReadFile(filepath.Join(k.repo, "api"))
		if err != nil {
			return false
		}
		k.api = strings.TrimSpace(string(b))
		return k.api != ""
	})
	parts := strings.Split(k.api, "/")
	k.url = "http://" + parts[2] + ":" + parts[4]
	waitFor(k.t, "Kubo API to answer", 60*time.Second, func() bool {
		resp, err := httpIn(k.netns).Post(k.url+"/api/v0/version", "", nil)
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	})
}

func (k *kubo) stop() {
	if k.cmd != nil && k.cmd.Process != nil {
		k.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { k.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			k.cmd.Process.Kill()
			<-done
		}
		k.cmd = nil
	}
}

// run runs the ipfs CLI against this Kubo's repo (or, with --api, against
// any API) and returns stdout; it fails the test on a non-zero exit.
func (k *kubo) run(args ...string) string {
	k.t.Helper()
	out, err := k.try(nil, args...)
	if err != nil {
		k.t.Fatalf("ipfs %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (k *kubo) try(stdin io.Reader, args ...string) (string, error) {
	cmd := command(k.netns, k.bin, args...)
	cmd.Env = append(os.Environ(), "IPFS_PATH="+k.repo)
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return stdout.String() + stderr.String(), err
	}
	return stdout.String(), nil
}

// pinned lists this Kubo's own recursive and direct pins, asked directly.
func (k *kubo) pinned() map[string]string {
	k.t.Helper()
	out := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(k.run("--api", k.api, "pin", "ls", "--type=recursive")), "\n") {
		if f := strings.Fields(line); len(f) >= 2 {
			out[f[0]] = f[1]
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(k.run("--api", k.api, "pin", "ls", "--type=direct")), "\n") {
		if f := strings.Fields(line); len(f) >= 2 {
			out[f[0]] = f[1]
		}
	}
	return out
}

// peer is a running flotilla daemon.
type peer struct {
	t      testing.TB
	bin    string
	home   string
	env    []string
	cmd    *exec.Cmd
	logs   *logBuffer
	proxy  string // host:port
	api    string // host:port
	clust  string // host:port
	exited chan struct{}
	// logLevel is the daemon's --log-level: debug unless a test (a
	// benchmark) wants the default's cost.
	logLevel string
	// netns is the network namespace the daemon runs in, "" for the test's
	// own; set it before start.
	netns string
}

type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func newPeer(t testing.TB, bin string, k *kubo, extraEnv ...string) *peer {
	t.Helper()
	p := &peer{t: t, bin: bin, home: filepath.Join(t.TempDir(), "flotilla")}
	p.env = append(os.Environ(),
		"FLOTILLA_PATH="+p.home,
		"FLOTILLA_PROXY_LISTEN=127.0.0.1:0",
		"FLOTILLA_API_LISTEN=127.0.0.1:0",
		"FLOTILLA_CLUSTER_LISTEN=127.0.0.1:0",
		"FLOTILLA_PINSVC_LISTEN=127.0.0.1:0",
		"FLOTILLA_IPFS_API="+k.api,
		"FLOTILLA_RAFT_HEARTBEAT_TIMEOUT=300ms",
		"FLOTILLA_RAFT_ELECTION_TIMEOUT=300ms",
	)
	p.env = append(p.env, extraEnv...)
	if out, err := p.flotilla("init"); err != nil {
		t.Fatalf("flotilla init: %v\n%s", err, out)
	}
	return p
}

func (p *peer) flotilla(args ...string) (string, error) {
	cmd := exec.Command(p.bin, args...)
	cmd.Env = p.env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// start runs `flotilla daemon`, learns its addresses from its JSON start
// line, and waits for /health.
func (p *peer) start(args ...string) {
	p.t.Helper()
	p.startUnready(args...)
	p.waitReady()
}

// waitReady waits until the running daemon's /health says it is ready.
func (p *peer) waitReady() {
	p.t.Helper()
	waitFor(p.t, "flotilla /health", 60*time.Second, func() bool {
		resp, err := p.client().Get("http://" + p.api + "/health")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == http.StatusNoContent
	})
}

// startUnready runs the daemon and returns once it has said where it
// listens, without waiting for it to be ready.
func (p *peer) startUnready(args ...string) {
	p.t.Helper()
	level := p.logLevel
	if level == "" {
		level = "debug"
	}
	p.cmd = command(p.netns, p.bin, append([]string{"--log-level", level, "daemon"}, args...)...)
	p.cmd.Env = p.env
	pr, pw := io.Pipe()
	if p.logs == nil {
		// One buffer for the peer's life: a restart appends to it.
		p.logs = &logBuffer{}
	}
	logs := p.logs
	p.cmd.Stdout, p.cmd.Stderr = pw, pw
	started := make(chan map[string]any, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			logs.Write(append(line, '\n'))
			var ev map[string]any
			if json.Unmarshal(line, &ev) == nil && ev["message"] == "flotilla peer started" {
				started <- ev
			}
		}
	}()
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.exited = make(chan struct{})
	go func() { p.cmd.Wait(); pw.Close(); close(p.exited) }()
	p.t.Cleanup(p.stop)
	select {
	case ev := <-started:
		// A restart on fixed ports listens where it did: leave the fields
		// alone then, since clients of a running test may be reading them.
		proxy, api, clust := ev["proxy"].(string), ev["api"].(string), ev["cluster"].(string)
		if proxy != p.proxy || api != p.api || clust != p.clust {
			p.proxy, p.api, p.clust = proxy, api, clust
		}
	case <-p.exited:
		p.t.Fatalf("flotilla daemon exited:\n%s", p.logs)
	case <-time.After(60 * time.Second):
		p.t.Fatalf("flotilla daemon did not start:\n%s", p.logs)
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (p *peer) stop() {
	if p.cmd == nil {
		return
	}
	if !terminate(p.cmd.Process, p.exited) {
		p.t.Errorf("flotilla did not stop on SIGTERM (the end of its log has its goroutines' stacks):\n%s", p.logs)
	}
	p.cmd = nil
}

// terminate sends SIGTERM, waits up to 30s for exited to close, then
// kills; it tells whether the process stopped on SIGTERM.
func terminate(proc *os.Process, exited <-chan struct{}) bool {
	proc.Signal(syscall.SIGTERM)
	select {
	case <-exited:
		return true
	case <-time.After(30 * time.Second):
		// SIGQUIT makes the Go runtime print every goroutine's stack into
		// the log, which then says where the process hung.
		proc.Signal(syscall.SIGQUIT)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			proc.Kill()
			<-exited
		}
		return false
	}
}

// kill ends the daemon with SIGKILL: a crash.
func (p *peer) kill() {
	p.cmd.Process.Kill()
	<-p.exited
	p.cmd = nil
}

func (p *peer) proxyAPI() string {
	host, port, _ := strings.Cut(p.proxy, ":")
	return fmt.Sprintf("/ip4/%s/tcp/%s", host, port)
}

func (p *peer) proxyURL() string { return "http://" + p.proxy }

// client reaches the peer's listeners, in its network namespace if it has
// one.
func (p *peer) client() *http.Client { return httpIn(p.netns) }

// waitFor polls every 20ms: each check asks real processes.
func waitFor(t testing.TB, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, what, cond, testkit.Within(limit), testkit.Every(20*time.Millisecond))
}

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}
