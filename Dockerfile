# Flotilla: a static binary on a small runtime image.
FROM golang:1.26-bookworm AS build
WORKDIR /src
# The commit the binary reports; `docker build --build-arg VERSION=$(git describe --always)`.
ARG VERSION=dev
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/flotilla-ipfs/flotilla/internal/version.Commit=${VERSION}" -o /out/flotilla ./cmd/flotilla
# The runtime image has no shell: make the home folder here, so that the
# volume starts out owned by the unprivileged user.
RUN mkdir -p /out/data/flotilla

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/flotilla /usr/local/bin/flotilla
COPY --from=build --chown=65532:65532 /out/data /data
# Smoke step: the binary runs on this image (static, no libc). Exec form,
# since the image has no shell.
RUN ["/usr/local/bin/flotilla", "version"]
ENV FLOTILLA_PATH=/data/flotilla \
    FLOTILLA_PROXY_LISTEN=0.0.0.0:9095 \
    FLOTILLA_API_LISTEN=0.0.0.0:9094 \
    FLOTILLA_PINSVC_LISTEN=0.0.0.0:9097
VOLUME /data/flotilla
# 9094 admin API, 9095 IPFS proxy, 9096 cluster (Raft + peer RPC), 9097 Pinning Service API
EXPOSE 9094 9095 9096 9097
USER nonroot
# --init writes a fresh configuration and identity on the first start only.
ENTRYPOINT ["/usr/local/bin/flotilla", "daemon"]
CMD ["--init"]
