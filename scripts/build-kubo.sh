#!/usr/bin/env bash
# Builds Kubo from its Go module into the given path, once.
set -euo pipefail
version=${1:?version}
out=${2:?output path}
want=${version#v}
if [ -x "$out" ] && "$out" version 2>/dev/null | grep -qx "ipfs version $want"; then
	exit 0
fi
"$(dirname "$0")/build-go-module.sh" github.com/ipfs/kubo "$version" "$out" ./cmd/ipfs
"$out" version
