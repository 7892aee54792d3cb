package rest

import (
	"net/http"
	"time"

	"github.com/rs/cors"
)

// CORSConfig lets browsers on other origins call the API. It is off unless
// AllowedOrigins is set: an admin API should not be reachable from any web
// page by default. Unlike ipfs-cluster's, whose defaults (GET, no request
// headers) follow from allowing every origin by default, the defaults let
// the pages of the origins an operator listed use the whole API: its
// methods, and credentials and JSON bodies.
type CORSConfig struct {
	AllowedOrigins   []string      // api.cors_allowed_origins, e.g. ["https://ui.example"] or ["*"]
	AllowedMethods   []string      // default the methods of the API's routes
	AllowedHeaders   []string      // default Authorization and Content-Type
	ExposedHeaders   []string      // api.cors_exposed_headers; default the stream headers
	AllowCredentials bool          // api.cors_allow_credentials
	MaxAge           time.Duration // api.cors_max_age
}

func newCORS(cfg CORSConfig, next http.Handler) http.Handler {
	if len(cfg.AllowedOrigins) == 0 {
		return next
	}
	methods := cfg.AllowedMethods
	if len(methods) == 0 {
		methods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodDelete}
	}
	headers := cfg.AllowedHeaders
	if len(headers) == 0 {
		headers = []string{"Authorization", "Content-Type"}
	}
	exposed := cfg.ExposedHeaders
	if len(exposed) == 0 {
		exposed = []string{"Content-Type", "X-Stream-Output", "X-Chunked-Output", "X-Content-Length"}
	}
	return cors.New(cors.Options{
		AllowedOrigins:   cfg.AllowedOrigins,
		AllowedMethods:   methods,
		AllowedHeaders:   headers,
		ExposedHeaders:   exposed,
		AllowCredentials: cfg.AllowCredentials,
		MaxAge:           int(cfg.MaxAge / time.Second),
	}).Handler(next)
}
