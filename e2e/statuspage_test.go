package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browser starts headless Chromium for one test. Like every part of these
// tests, a missing Chromium fails rather than skips.
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is not installed: the status page test drives it (.ci/run installs the Debian package chromium)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.WindowSize(1280, 800))
	if os.Geteuid() == 0 {
		// Chromium refuses to run as root inside its sandbox.
		opts = append(opts, chromedp.NoSandbox)
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelBrowser := chromedp.NewContext(alloc)
	ctx, cancelTest := context.WithTimeout(ctx, 4*time.Minute)
	t.Cleanup(func() { cancelTest(); cancelBrowser(); cancelAlloc() })
	return ctx
}

// waitForPage polls a JavaScript predicate in the page until it holds,
// and on a timeout fails with what the page shows.
func waitForPage(t *testing.T, ctx context.Context, what, predicate string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](predicate,
		chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(90*time.Second))); err != nil {
		shown, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
		t.Fatalf("the status page never showed %s: %v\n--- the page shows:\n%s", what, err, shown)
	}
}

// peerState is the text of the State cell of the peers table's row for id.
func peerState(id string) string {
	return fmt.Sprintf(`(document.querySelector('#peers tr[data-peer-id=%q] [data-field=state]') || {}).textContent`, id)
}

// pinRowPinned holds when the pins table shows c under name, pinned on
// peers peers.
func pinRowPinned(c, name string, peers int) string {
	return fmt.Sprintf(`(() => {
		const row = document.querySelector('#pins tr[data-cid=%q]');
		if (!row || !row.textContent.includes(%q)) return false;
		return [...row.querySelectorAll('.chip b')].filter((b) => b.textContent === 'pinned').length === %d;
	})()`, c, name, peers)
}

// The status page of a real cluster shows its peers and a pin made through
// the proxy, and shows a peer killed meanwhile as down, with an alert,
// without a reload; killed again after it came back, only its new alert
// is active.
func TestStatusPageShowsTheClusterLive(t *testing.T) {
	binaries(t) // skips unless end-to-end tests are on
	ctx := browser(t)
	kubos, peers := threePeers(t)
	ids := peerIDs(t, peers[0])

	c := addEverywhere(t, kubos, "shown on the status page")
	kubos[1].run("--api", peers[1].proxyAPI(), "pin", "add", "--name", "holiday-photos", c)
	shot := os.Getenv("FLOTILLA_STATUS_SCREENSHOT")
	if shot != "" {
		morePins(t, kubos, peers)
	}

	if err := chromedp.Do(ctx, chromedp.Navigate("http://"+peers[0].api+"/")); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		waitForPage(t, ctx, "peer "+id+" up", peerState(id)+` === 'up'`)
	}
	waitForPage(t, ctx, "the pin pinned on every peer", pinRowPinned(c, "holiday-photos", 3))
	waitForPage(t, ctx, "a leader", `document.getElementById('sum-leader').textContent.startsWith('peer-')`)
	if shot != "" {
		screenshot(t, ctx, shot)
	}

	victim := peers[2]
	id := selfID(t, victim)
	victim.kill()
	waitForPage(t, ctx, "the killed peer down", peerState(id)+` === 'down'`)
	waitForPage(t, ctx, "an active alert for the killed peer",
		fmt.Sprintf(`(document.querySelector('#alerts tr[data-peer-id=%q]') || {textContent: ''}).textContent.includes('active')`, id))
	for _, other := range ids {
		if other != id {
			waitForPage(t, ctx, "peer "+other+" still up", peerState(other)+` === 'up'`)
		}
	}

	// Back, then killed again: the first alert was cleared when it came
	// back, and stays cleared beside the new one.
	victim.start()
	waitForPage(t, ctx, "the restarted peer up", peerState(id)+` === 'up'`)
	victim.kill()
	waitForPage(t, ctx, "the second alert, active, beside the cleared first",
		fmt.Sprintf(`(() => {
			const states = [...document.querySelectorAll('#alerts tr[data-peer-id=%q]')].map((r) => r.lastChild.textContent);
			return states.length === 2 && states[0] === 'active' && states[1] === 'cleared';
		})()`, id))
}

// TestStatusPageBehindBasicAuth opens the page of a peer with credentials
// the way an operator's browser holds them once given (here in the URL):
// its own requests carry them and the page fills.
func TestStatusPageBehindBasicAuth(t *testing.T) {
	flotillaBin, ipfsBin := binaries(t)
	ctx := browser(t)
	p := newPeer(t, flotillaBin, startKubo(t, ipfsBin), "FLOTILLA_API_BASIC_AUTH_CREDENTIALS=admin=s3cret")
	p.start()
	id := selfID(t, p, "admin", "s3cret")
	if err := chromedp.Do(ctx, chromedp.Navigate("http://admin:s3cret@"+p.api+"/")); err != nil {
		t.Fatal(err)
	}
	waitForPage(t, ctx, "the peer up", peerState(id)+` === 'up'`)
	waitForPage(t, ctx, "every section refreshed", `document.getElementById('live').dataset.state === 'live'`)
}

// selfID is p's own peer ID, asked with basic auth when given user and
// password.
func selfID(t *testing.T, p *peer, userPass ...string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+p.api+"/id", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(userPass) == 2 {
		req.SetBasicAuth(userPass[0], userPass[1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var id struct {
		ID string `json:"id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&id); err != nil || id.ID == "" {
		t.Fatalf("GET /id: %d %v %+v", resp.StatusCode, err, id)
	}
	return id.ID
}
