#!/usr/bin/env bash
# `make run`: a loopback-only Kubo with its own repo under .run/ipfs, and one
# Flotilla peer in front of it with its home under .run/flotilla. Ctrl-C
# stops both.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
ipfs="$root/bin/ipfs"
flotilla="$root/bin/flotilla"
run="$root/.run"
kubo_api_port=${KUBO_API_PORT:-15001}

export IPFS_PATH="$run/ipfs"
export FLOTILLA_PATH="$run/flotilla"
mkdir -p "$run"

if [ ! -f "$IPFS_PATH/config" ]; then
	"$ipfs" init --profile test >/dev/null
	"$ipfs" config Addresses.API "/ip4/127.0.0.1/tcp/$kubo_api_port"
	"$ipfs" config Addresses.Gateway "/ip4/127.0.0.1/tcp/0"
	"$ipfs" config --json Addresses.Swarm '["/ip4/127.0.0.1/tcp/0"]'
fi
if [ ! -f "$FLOTILLA_PATH/service.json" ]; then
	"$flotilla" init
fi

pids=()
cleanup() {
	trap - INT TERM EXIT
	for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

"$ipfs" daemon --enable-gc=false >"$run/ipfs.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
	if "$ipfs" --api "/ip4/127.0.0.1/tcp/$kubo_api_port" id >/dev/null 2>&1; then break; fi
	if ! kill -0 "${pids[0]}" 2>/dev/null; then
		echo "Kubo failed to start; see $run/ipfs.log" >&2
		exit 1
	fi
	sleep 0.1
done

FLOTILLA_IPFS_API="http://127.0.0.1:$kubo_api_port" "$flotilla" daemon &
pids+=($!)
started=
for _ in $(seq 1 100); do
	if ! kill -0 "${pids[1]}" 2>/dev/null; then break; fi
	if curl -fsS http://127.0.0.1:9094/health >/dev/null 2>&1; then started=1; break; fi
	sleep 0.1
done
if [ -z "$started" ]; then
	echo "Flotilla failed to start: see its message above" >&2
	exit 1
fi

cat <<MSG

Flotilla is running.
  IPFS RPC API (proxy):  http://127.0.0.1:9095   (Kubo's own API: http://127.0.0.1:$kubo_api_port)
  admin REST API:        http://127.0.0.1:9094
  cluster port:          9096 on every interface (other peers join here; the cluster secret guards it)
  Flotilla's home:       $FLOTILLA_PATH  (for offline commands: flotilla --path $FLOTILLA_PATH state export)
Try:
  echo hello | $ipfs --api /ip4/127.0.0.1/tcp/9095 add
  $ipfs --api /ip4/127.0.0.1/tcp/9095 pin ls --type=recursive
  curl -s http://127.0.0.1:9094/pins
Press Ctrl-C to stop.

MSG
wait -n "${pids[@]}"
