package e2e

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"
)

// The pins of the status page come from the server a page at a time:
// Next and Previous walk them, and the search box finds a name in any case
// and looks a CID up.
func TestStatusPagePagesAndSearchesPins(t *testing.T) {
	flotillaBin, ipfsBin := binaries(t)
	ctx := browser(t)
	p := newPeer(t, flotillaBin, startKubo(t, ipfsBin))
	p.start()
	const total = 120
	cids := make([]string, total)
	for i := range cids {
		mh, err := multihash.Sum(fmt.Appendf(nil, "paged pin %d", i), multihash.SHA2_256, -1)
		if err != nil {
			t.Fatal(err)
		}
		cids[i] = cid.NewCidV1(cid.Raw, mh).String()
		resp, err := http.Post(fmt.Sprintf("http://%s/pins/%s?name=pin-%03d", p.api, cids[i], i), "", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("pin %d: %s", i, resp.Status)
		}
	}

	if err := chromedp.Do(ctx, chromedp.Navigate("http://"+p.api+"/")); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	showing := func(note string, rows int) {
		t.Helper()
		waitForPage(t, ctx, "pins "+note, fmt.Sprintf(`document.getElementById('pins-note').textContent === %q &&
			document.querySelectorAll('#pins tbody tr[data-cid]').length === %d`, note, rows))
		shown, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#pins tbody tr[data-cid]')].map((r) => r.dataset.cid)`))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range shown {
			seen[c] = true
		}
	}
	click := func(button string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(button))); err != nil {
			t.Fatal(err)
		}
	}
	showing("1–50 of 120", 50)
	click("#pins-next")
	showing("51–100 of 120", 50)
	click("#pins-next")
	showing("101–120 of 120", 20)
	waitForPage(t, ctx, "Next disabled on the last page", `document.getElementById('pins-next').disabled`)
	click("#pins-prev")
	showing("51–100 of 120", 50)
	if len(seen) != total {
		t.Fatalf("the pages showed %d distinct pins, want %d", len(seen), total)
	}

	search := func(text string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(`(() => {
			const box = document.getElementById('pin-search');
			box.value = %q;
			return box.dispatchEvent(new Event('input'));
		})()`, text))); err != nil {
			t.Fatal(err)
		}
	}
	search("PIN-042")
	waitForPage(t, ctx, "only pin-042 found by name", fmt.Sprintf(`(() => {
		const rows = document.querySelectorAll('#pins tbody tr[data-cid]');
		return rows.length === 1 && rows[0].dataset.cid === %q && rows[0].textContent.includes('pin-042');
	})()`, cids[42]))
	search(cids[77])
	waitForPage(t, ctx, "pin-077 looked up by CID", fmt.Sprintf(`(() => {
		const rows = document.querySelectorAll('#pins tbody tr[data-cid]');
		return rows.length === 1 && rows[0].dataset.cid === %q;
	})()`, cids[77]))
	search("no such pin")
	waitForPage(t, ctx, "no match", `document.querySelector('#pins tbody tr.empty') !== null`)
}
