package rest

import (
	"embed"
	"errors"
	"mime"
	"net/http"
	"path"

	"github.com/go-chi/chi/v5"
)

// statusPage holds the status page: plain HTML, CSS and JavaScript, built
// into the binary so that the page needs no build step and nothing from
// outside this peer.
//
//go:embed statuspage
var statusPage embed.FS

// pageSecurity keeps the page to its own assets and its own API: no inline
// script, nothing from another origin, no framing by another site.
const pageSecurity = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// index is GET /: the status page.
func (a *API) index(w http.ResponseWriter, _ *http.Request) {
	a.serveAsset(w, "index.html")
}

// asset is GET /ui/{name}: the page's script, style sheet and icon.
func (a *API) asset(w http.ResponseWriter, r *http.Request) {
	a.serveAsset(w, chi.URLParam(r, "name"))
}

func (a *API) serveAsset(w http.ResponseWriter, name string) {
	b, err := statusPage.ReadFile("statuspage/" + name)
	if err != nil {
		writeError(w, http.StatusNotFound, errors.New("not found"))
		return
	}
	h := w.Header()
	h.Set("Content-Type", mime.TypeByExtension(path.Ext(name)))
	h.Set("Content-Security-Policy", pageSecurity)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	// An upgraded peer serves its new page at once.
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}
