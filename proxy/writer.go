package proxy

import (
	"net/http"
	"strings"
)

// statusWriter records the status for the access log and tidies the
// headers once, when they go out: both the proxy's CORS layer and the
// upstream's add "Vary: Origin", and a client must see it once, as from
// Kubo. It hides nothing else: flushing, full duplex and trailers reach the
// underlying writer through Unwrap.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	// 1xx answers (100 Continue relayed by the reverse proxy) are not the
	// final status.
	if w.status == 0 && code >= 200 {
		w.status = code
		dedupeVary(w.Header())
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// finalStatus is what the client got; a handler that wrote nothing sent 200.
func (w *statusWriter) finalStatus() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// dedupeVary drops repeated Vary tokens, keeping the first spelling and the
// original grouping of the values.
func dedupeVary(h http.Header) {
	values := h.Values("Vary")
	if len(values) < 2 {
		return
	}
	seen := map[string]bool{}
	var out []string
	for _, v := range values {
		var kept []string
		for _, t := range strings.Split(v, ",") {
			t = strings.TrimSpace(t)
			if t == "" || seen[strings.ToLower(t)] {
				continue
			}
			seen[strings.ToLower(t)] = true
			kept = append(kept, t)
		}
		if len(kept) > 0 {
			out = append(out, strings.Join(kept, ", "))
		}
	}
	h["Vary"] = out
}
