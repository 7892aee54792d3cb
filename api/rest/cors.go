package rest

import (
	"net/http"
	"time"

	"github.com/rs/cors"
)

// CORSConfig lets browsers on other origins call the API. It is off unless
// AllowedOrigins is set: an admin API should not be reachable from any web
// page by default. The other fields take ipfs-cluster's defaults when
// empty.
type CORSConfig struct {
	AllowedOrigins   []string      // api.cors_allowed_origins, e.g. ["https://ui.example"] or ["*"]
	AllowedMethods   []string      // api.cors_allowed_methods; default GET
	AllowedHeaders   []string      // api.cors_allowed_headers
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
		methods = []string{http.MethodGet}
	}
	exposed := cfg.ExposedHeaders
	if len(exposed) == 0 {
		exposed = []string{"Content-Type", "X-Stream-Output", "X-Chunked-Output", "X-Content-Length"}
	}
	return cors.New(cors.Options{
		AllowedOrigins:   cfg.AllowedOrigins,
		AllowedMethods:   methods,
		AllowedHeaders:   cfg.AllowedHeaders,
		ExposedHeaders:   exposed,
		AllowCredentials: cfg.AllowCredentials,
		MaxAge:           int(cfg.MaxAge / time.Second),
	}).Handler(next)
}
