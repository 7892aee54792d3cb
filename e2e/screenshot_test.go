package e2e

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/chromedp/chromedp"
)

// With FLOTILLA_STATUS_SCREENSHOT=file.png, TestStatusPageShowsTheClusterLive
// also saves the page of its healthy cluster, with a few pins more: the
// README's docs/status-page.png is made so.

// morePins pins a few more contents through the proxies, with names and
// replication factors an operator would use.
func morePins(t *testing.T, kubos []*kubo, peers []*peer) {
	t.Helper()
	for i, p := range []struct{ name, query string }{
		{"website-v2", "replication=2"},
		{"dataset-2024-q3", "replication=-1"},
		{"db-nightly-backup", "replication-min=1&replication-max=2"},
		{"launch-keynote.mp4", "replication=1"},
		{"docs-v1.4.2", "replication=2"},
	} {
		c := addEverywhere(t, kubos, fmt.Sprintf("screenshot content %d", i))
		proxyPin(t, peers[i%len(peers)], c, p.query+"&name="+p.name)
	}
}

// screenshot saves the whole page as a PNG once no pin is still on its way.
func screenshot(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	waitForPage(t, ctx, "six pins, none on its way", `(() => {
		const rows = document.querySelectorAll('#pins tbody tr[data-cid]');
		const busy = [...document.querySelectorAll('#pins .chip b')].some((b) => /queued|pinning/.test(b.textContent));
		return rows.length === 6 && !busy;
	})()`)
	// A viewport as tall as the page, for all of it in one image.
	height, err := chromedp.Run(ctx, chromedp.Evaluate[int64](`document.documentElement.scrollHeight`))
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, height)); err != nil {
		t.Fatal(err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot saved to %s", path)
}
