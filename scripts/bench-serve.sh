#!/usr/bin/env bash
# Load bench of `chainhound serve`: a real HTTP load generator (wrk, from
# Debian: apt-get install wrk) on loopback against a store of 1,000,000
# simulated transactions, screening addresses and transfers at fixed
# concurrency. Prints throughput and p50/p90/p99 latency per workload.
#
#   scripts/bench-serve.sh                 # builds release, data in $BENCH_DIR
#   TXS=1000000 DURATION=20 CONNS=32 scripts/bench-serve.sh
#
# Target (BENCHMARKS.md): p99 <= 10 ms at >= 5,000 requests/s on 2 cores.
# Not a test: the machine is shared; quote medians and the load (`uptime`).
set -euo pipefail
cd "$(dirname "$0")/.."

TXS=${TXS:-1000000}
SEED=${SEED:-1}
DURATION=${DURATION:-20}
CONNS=${CONNS:-"8 32"}
THREADS=${THREADS:-1}
PORT=${PORT:-18199}
BENCH_DIR=${BENCH_DIR:-/tmp/chainhound-bench-serve}
BIN=${BIN:-target/release/chainhound}

command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
[ -x "$BIN" ] && [ -z "${REBUILD:-}" ] || cargo build --release --locked -p chainhound-cli
DATA="$BENCH_DIR/data-$TXS-$SEED"
SIM="$BENCH_DIR/sim-$TXS-$SEED"
mkdir -p "$BENCH_DIR"

if [ ! -f "$SIM/truth.json" ]; then
  echo "simulating $TXS transactions..." >&2
  "$BIN" --quiet simulate --txs "$TXS" --seed "$SEED" --out "$SIM"
fi
if [ ! -f "$DATA/btc/MANIFEST" ]; then
  echo "ingesting (and clustering)..." >&2
  "$BIN" --quiet --data "$DATA" ingest btc --network regtest --blocks-dir "$SIM/blocks"
  "$BIN" --quiet --data "$DATA" import csv --source sim-attribution "$SIM/attribution.csv"
  # The case: the addresses the theft paid, tagged as the victim would.
  python3 - "$BIN" "$DATA" "$SIM" > "$BENCH_DIR/case-$TXS-$SEED.csv" <<'PY'
import json, subprocess, sys
bin_, data, sim = sys.argv[1:4]
inc = json.load(open(f"{sim}/truth.json"))["incident"]
print("address,label,category")
for txid in inc["theft_txids"]:
    tx = json.loads(subprocess.check_output([bin_, "--quiet", "--data", data, "--json", "tx", txid]))
    for o in tx["outputs"]:
        if o["address"] not in inc["hot_wallet_addresses"]:
            print(f'{o["address"]},theft from {inc["victim_name"]},theft')
PY
  "$BIN" --quiet --data "$DATA" import csv --source bench-case "$BENCH_DIR/case-$TXS-$SEED.csv"
fi

# Each run starts from empty service state (keys, audit log, screenings).
rm -rf "$DATA/serve"
KEY=$("$BIN" --quiet --data "$DATA" --json keys create --tenant bench --role integration \
  --rate 10000000 --label bench | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')

# Request bodies: 5,000 addresses from the ground truth, every cash-out
# deposit of the laundering incident plus deposits into exchanges.
WORK="$BENCH_DIR/work"
mkdir -p "$WORK"
python3 - "$SIM" "$WORK" <<'PY'
import csv, json, random, sys
sim, work = sys.argv[1], sys.argv[2]
rows = list(csv.DictReader(open(f"{sim}/truth-addresses.csv")))
random.seed(1)
addrs = [r["address"] for r in random.sample(rows, min(5000, len(rows)))]
with open(f"{work}/address.bodies", "w") as f:
    for a in addrs:
        f.write(json.dumps({"chain": "bitcoin", "address": a}) + "\n")
t = json.load(open(f"{sim}/truth.json"))
cash = t["incident"]["cashouts"]
with open(f"{work}/transfer.bodies", "w") as f:
    for c in cash:
        f.write(json.dumps({"chain": "bitcoin", "asset": "BTC", "direction": "deposit",
                            "txid": c["txid"], "vout": c["vout"]}) + "\n")
print(f"{len(addrs)} addresses, {len(cash)} transfers", file=sys.stderr)
PY

cat > "$WORK/post.lua" <<'LUA'
local bodies = {}
local path = os.getenv("WRK_PATH")
for line in io.lines(os.getenv("WRK_BODIES")) do bodies[#bodies + 1] = line end
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("WRK_KEY")
request = function()
  i = i % #bodies + 1
  return wrk.format(nil, path, nil, bodies[i])
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d errors=%d non2xx=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d\n",
    summary.requests, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
LUA

"$BIN" --quiet --data "$DATA" serve --bind "127.0.0.1:$PORT" > "$WORK/serve.out" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null && wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break
  sleep 0.2
done

run() { # name path bodies
  WRK_PATH=$2 WRK_BODIES=$3 WRK_KEY=$KEY wrk -t1 -c5 -d3s -s "$WORK/post.lua" "http://127.0.0.1:$PORT" >/dev/null # warm-up
  local out rps res c
  for c in $CONNS; do
    out=$(WRK_PATH=$2 WRK_BODIES=$3 WRK_KEY=$KEY wrk -t"$THREADS" -c"$c" -d"${DURATION}s" \
          -s "$WORK/post.lua" "http://127.0.0.1:$PORT")
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    res=$(echo "$out" | grep '^RESULT' | sed 's/^RESULT //')
    printf '%-16s c=%-3s %10s req/s  %s\n' "$1" "$c" "$rps" "$res"
  done
}

echo "chainhound serve bench: $TXS txs (seed $SEED), wrk -t$THREADS -c{$CONNS} -d${DURATION}s, $(nproc) cores"
echo "load before: $(uptime)"
run screen-address /v1/screen/address "$WORK/address.bodies"
run screen-transfer /v1/screen/transfer "$WORK/transfer.bodies"
# Fixed rate (open loop, latency corrected): oha from crates.io
# (cargo install oha), if installed. One body per workload.
if command -v oha >/dev/null; then
  for rate in ${RATES:-5000 10000}; do
    for w in address transfer; do
      body=$(head -1 "$WORK/$w.bodies")
      oha --no-tui --output-format json -z "${DURATION}s" -q "$rate" -c 64 --latency-correction \
          -m POST -H "Authorization: Bearer $KEY" -H "Content-Type: application/json" -d "$body" \
          "http://127.0.0.1:$PORT/v1/screen/$w" > "$WORK/oha.json"
      python3 - "$w" "$rate" "$WORK/oha.json" <<'PY'
import json, sys
w, rate, path = sys.argv[1:4]
d = json.load(open(path))
s, p = d["summary"], d["latencyPercentiles"]
codes = d.get("statusCodeDistribution", {})
print(f"oha screen-{w:<9} at {rate:>6} req/s: got {s['requestsPerSec']:.0f} req/s, "
      f"p50 {p['p50']*1000:.2f} ms, p90 {p['p90']*1000:.2f} ms, p99 {p['p99']*1000:.2f} ms, "
      f"success {s['successRate']*100:.2f}%, status {codes}")
PY
    done
  done
fi
echo "load after: $(uptime)"
