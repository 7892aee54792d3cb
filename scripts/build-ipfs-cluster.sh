#!/usr/bin/env bash
# Builds ipfs-cluster's daemon and CLI (ipfs-cluster-service and
# ipfs-cluster-ctl) from its Go module into the given folder, once: the
# incumbent that `make bench` measures Flotilla against.
set -euo pipefail
version=${1:?version}
outdir=${2:?output folder}
want=${version#v}
service="$outdir/ipfs-cluster-service"
if [ -x "$service" ] && [ -x "$outdir/ipfs-cluster-ctl" ] && "$service" --version 2>/dev/null | grep -qx "ipfs-cluster-service version $want"; then
	exit 0
fi
"$(dirname "$0")/build-go-module.sh" github.com/ipfs-cluster/ipfs-cluster "$version" "${outdir%/}/" \
	./cmd/ipfs-cluster-service ./cmd/ipfs-cluster-ctl
"$service" --version
