package e2e

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// A netLab is a private network for real partitions between real
// processes. Each peer gets a network namespace of its own, which holds its
// flotilla daemon and its Kubo: they talk over that namespace's loopback,
// and the test reaches their APIs there too (httpIn). The namespace's one
// other interface, eth0 (10.77.0.<n>/24), is a veth whose other end is a
// port of a bridge in a namespace of its own; only the cluster port listens
// on it. Nothing is added to the test's own namespace, and no namespace has
// a route beyond its bridge: nothing can leave the machine.
//
// Two faults cut it. split moves some peers' ports to a second bridge: each
// side still talks within itself, and packets across are lost without a
// word, as when a switch fails. unplug takes a peer's eth0 down: its own
// sends fail at once, the others' to it are lost. heal undoes both.
type netLab struct {
	t      testing.TB
	bridge string   // the namespace of the two bridges
	peers  []string // each peer's namespace
}

// netLabPrefix starts every namespace a lab makes, followed by the test
// process's PID: a lab whose process is gone is a crashed run's leftover.
const netLabPrefix = "flte2e-"

// newNetLab builds a lab of n peers, all on one bridge, and removes it when
// the test ends, whether or not it passed; it fails the test if the machine
// cannot make network namespaces.
func newNetLab(t testing.TB, n int) *netLab {
	t.Helper()
	if err := netLabPossible(); err != nil {
		t.Fatalf("network partitions between real processes need Linux network namespaces "+
			"(root, or CAP_SYS_ADMIN and CAP_NET_ADMIN, and iproute2's ip on PATH); "+
			"%s=0 runs the nemesis without them: %v", envNemesisPartitions, err)
	}
	removeStaleNetLabs(t)
	prefix := fmt.Sprintf("%s%d-", netLabPrefix, os.Getpid())
	lab := &netLab{t: t, bridge: prefix + "br"}
	for i := range n {
		lab.peers = append(lab.peers, fmt.Sprintf("%sp%d", prefix, i))
	}
	// Registered first, so that it runs after the processes in the lab
	// have been stopped; it removes a half-built lab too.
	t.Cleanup(lab.remove)
	lab.ip("netns", "add", lab.bridge)
	for _, br := range []string{"br0", "br1"} {
		lab.ip("-n", lab.bridge, "link", "add", br, "type", "bridge")
		lab.ip("-n", lab.bridge, "link", "set", br, "up")
	}
	for i, ns := range lab.peers {
		port := fmt.Sprint("port", i)
		lab.ip("netns", "add", ns)
		lab.ip("-n", ns, "link", "set", "lo", "up")
		lab.ip("link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", port, "netns", lab.bridge)
		lab.ip("-n", lab.bridge, "link", "set", port, "master", "br0", "up")
		lab.ip("-n", ns, "addr", "add", lab.addr(i)+"/24", "dev", "eth0")
		lab.ip("-n", ns, "link", "set", "eth0", "up")
	}
	return lab
}

// netLabPossible says why this machine cannot make a lab, if it cannot:
// the first `ip netns add` says the rest.
func netLabPossible() error {
	if runtime.GOOS != "linux" {
		return fmt.Errorf("this is %s", runtime.GOOS)
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return err
	}
	probe := fmt.Sprintf("%s%d-probe", netLabPrefix, os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", probe).CombinedOutput(); err != nil {
		return fmt.Errorf("ip netns add: %v: %s", err, strings.TrimSpace(string(out)))
	}
	exec.Command("ip", "netns", "del", probe).Run()
	return nil
}

// addr is peer i's address on the lab's network.
func (lab *netLab) addr(i int) string { return fmt.Sprintf("10.77.0.%d", i+1) }

// split cuts the peers of side off from the others.
func (lab *netLab) split(side ...int) {
	for _, i := range side {
		lab.ip("-n", lab.bridge, "link", "set", fmt.Sprint("port", i), "master", "br1")
	}
}

// unplug takes peer i's interface down.
func (lab *netLab) unplug(i int) { lab.ip("-n", lab.peers[i], "link", "set", "eth0", "down") }

// heal puts every peer back on one bridge with its interface up.
func (lab *netLab) heal() {
	for i, ns := range lab.peers {
		lab.ip("-n", lab.bridge, "link", "set", fmt.Sprint("port", i), "master", "br0")
		lab.ip("-n", ns, "link", "set", "eth0", "up")
	}
}

func (lab *netLab) ip(args ...string) {
	lab.t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		lab.t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// remove deletes the lab's namespaces, and with them its veths and bridges.
func (lab *netLab) remove() {
	for _, ns := range append([]string{lab.bridge}, lab.peers...) {
		if err := removeNetNS(ns); err != nil {
			lab.t.Errorf("removing the lab's namespace %s: %v", ns, err)
		}
	}
}

// removeStaleNetLabs removes the namespaces of earlier runs whose test
// process is gone, and ends what still runs in them, so that a crashed run
// leaves nothing behind for long.
func removeStaleNetLabs(t testing.TB) {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatalf("ip netns list: %v", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(f[0], netLabPrefix) {
			continue
		}
		pid, err := strconv.Atoi(strings.SplitN(strings.TrimPrefix(f[0], netLabPrefix), "-", 2)[0])
		if err != nil || processAlive(pid) {
			continue
		}
		if err := removeNetNS(f[0]); err != nil {
			t.Fatalf("removing the namespace %s of a run that is gone: %v", f[0], err)
		}
		t.Logf("removed the namespace %s of a run that is gone", f[0])
	}
}

func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || err == syscall.EPERM
}

// removeNetNS kills whatever still runs in namespace ns (only a test puts
// processes there, but never this one), then deletes it; the kernel frees
// it once they are gone.
func removeNetNS(ns string) error {
	out, err := exec.Command("ip", "netns", "pids", ns).Output()
	if err != nil {
		return nil // already gone
	}
	for _, f := range strings.Fields(string(out)) {
		if pid, err := strconv.Atoi(f); err == nil && pid != os.Getpid() {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	return nil
}

// command runs bin in network namespace netns, or in the test's own if it
// is "". `ip netns exec` becomes bin (it execs it, without a fork), so that
// the process the test signals is bin itself.
func command(netns, bin string, args ...string) *exec.Cmd {
	if netns == "" {
		return exec.Command(bin, args...)
	}
	return exec.Command("ip", append([]string{"netns", "exec", netns, bin}, args...)...)
}

var netnsClients sync.Map // namespace name -> *http.Client

// httpIn is an HTTP client whose connections are made from inside network
// namespace netns (the test's own if it is ""), so that 127.0.0.1 there is
// that namespace's loopback.
func httpIn(netns string) *http.Client {
	if netns == "" {
		return http.DefaultClient
	}
	if c, ok := netnsClients.Load(netns); ok {
		return c.(*http.Client)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.DialContext = dialIn(netns)
	c, _ := netnsClients.LoadOrStore(netns, &http.Client{Transport: tr})
	return c.(*http.Client)
}
