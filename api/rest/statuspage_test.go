package rest

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/flotilla-ipfs/flotilla/types"
)

// The page and every asset it names are served, with a policy that keeps
// the browser to this peer; nothing it loads lives anywhere else.
func TestStatusPageAndItsAssets(t *testing.T) {
	e := newEnv(t, Config{})
	page := e.get("/").wantStatus(t, http.StatusOK)
	if ct := page.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("GET / is %q", ct)
	}
	csp := page.header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	refs := regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllStringSubmatch(string(page.body), -1)
	if len(refs) < 3 {
		t.Fatalf("the page names %d assets: %s", len(refs), page.body)
	}
	wantType := map[string]string{".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
	external := regexp.MustCompile(`(?:https?:)?//[a-z0-9]`)
	for _, ref := range refs {
		path := ref[1]
		if !strings.HasPrefix(path, "/ui/") {
			t.Errorf("the page loads %q, not one of this peer's assets", path)
			continue
		}
		r := e.get(path).wantStatus(t, http.StatusOK)
		ext := path[strings.LastIndex(path, "."):]
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, wantType[ext]) {
			t.Errorf("%s is %q, want %s", path, ct, wantType[ext])
		}
		body := strings.ReplaceAll(string(r.body), `xmlns="http://www.w3.org/2000/svg"`, "")
		if m := external.FindString(body); m != "" {
			t.Errorf("%s refers to another site: %q", path, m)
		}
	}
	e.get("/ui/missing.js").wantError(t, http.StatusNotFound, "not found")
	e.get("/ui/..%2fstatuspage.go").wantError(t, http.StatusNotFound, "not found")
}

func TestStatusPageNeedsCredentials(t *testing.T) {
	e := newEnv(t, Config{Auth: AuthConfig{Users: map[string]string{"alice": "s3cret"}}})
	for _, path := range []string{"/", "/ui/app.js", "/ui/pins"} {
		r := e.get(path).wantStatus(t, http.StatusUnauthorized)
		if !strings.Contains(strings.Join(r.header.Values("WWW-Authenticate"), ","), "Basic") {
			t.Errorf("%s: no Basic challenge for the browser to prompt with: %v", path, r.header)
		}
		e.do(http.MethodGet, path, nil, "Authorization", basic("alice", "s3cret")).wantStatus(t, http.StatusOK)
	}
}

// The page's own requests carry its origin (a Referer on GETs, an Origin
// on others): they pass, and a foreign page's do not.
func TestStatusPageRequestsFromItsOwnOrigin(t *testing.T) {
	e := newEnv(t, Config{})
	u, _ := url.Parse(e.srv.URL)
	own := "http://" + u.Host
	c := testCid(t, "from the page").String()
	for _, path := range []string{"/id", "/peers", "/ui/pins", "/health/alerts", "/monitor/metrics/freespace"} {
		e.do(http.MethodGet, path, nil, "User-Agent", browserUA, "Referer", own+"/").wantStatus(t, http.StatusOK)
		e.do(http.MethodGet, path, nil, "User-Agent", browserUA, "Referer", "http://evil.example/").
			wantError(t, http.StatusForbidden, "referer")
	}
	e.do(http.MethodPost, "/pins/"+c, nil, "User-Agent", browserUA, "Origin", own).wantStatus(t, http.StatusOK)
	e.do(http.MethodPost, "/pins/"+c, nil, "User-Agent", browserUA, "Origin", "http://localhost:1").
		wantError(t, http.StatusForbidden, "origin")
}

// GET /peers carries what the page shows of each member: its role, its
// pins by status, and when its heartbeat was last heard.
func TestPeersCarryRoleCountsAndHeartbeat(t *testing.T) {
	e := newEnv(t, Config{})
	heard := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	e.fc.EditPeer(0, func(p *types.ID) {
		p.Role, p.PinsByStatus, p.LastHeartbeat = types.RoleLeader, map[string]int{"pinned": 7, "pin_error": 1}, heard
	})
	e.fc.EditPeer(1, func(p *types.ID) { p.Role, p.Error = types.RoleVoter, "connection refused" })
	items := ndjson(t, e.get("/peers").wantStatus(t, http.StatusOK).body)
	if items[0]["role"] != "leader" || items[0]["last_heartbeat"] != "2030-01-02T03:04:05Z" {
		t.Errorf("peer 0: %v", items[0])
	}
	if c := items[0]["pins_by_status"].(map[string]any); c["pinned"] != 7.0 || c["pin_error"] != 1.0 {
		t.Errorf("pins_by_status %v", c)
	}
	if items[1]["role"] != "voter" || items[1]["error"] != "connection refused" {
		t.Errorf("peer 1: %v", items[1])
	}
	if _, has := items[1]["last_heartbeat"]; has {
		t.Errorf("a peer never heard has a last heartbeat: %v", items[1])
	}
}
