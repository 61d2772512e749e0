#!/usr/bin/env bash
# Single-call latency of Ethereum screening (not a test; figures in
# BENCHMARKS.md, "Ethereum screening"). Builds two data directories under
# $WORK (default /tmp/chainhound-evm-screen): the real ethereum-etl export of
# ../shared/data and a synthetic export of 1,000,000 transactions, each with
# the Bitcoin demo (the service needs a Bitcoin store) and a sanctions-style
# CSV; starts the release binary on 127.0.0.1 and times 51 calls of each kind
# with curl (a new connection per call). Prints medians, p90 and the load.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
BIN=$ROOT/target/release/chainhound
WORK=${WORK:-/tmp/chainhound-evm-screen}
ETL=$ROOT/../shared/data/eth-etl-transactions-raphtory
N=${N:-51}
PORT=${PORT:-18391}
[ -x "$BIN" ] || (cd "$ROOT" && cargo build --release -p chainhound-cli)
mkdir -p "$WORK"

timeit() { # path body
  for _ in $(seq 1 "$N"); do
    curl -s -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $KEY" \
      -H 'content-type: application/json' "http://127.0.0.1:$PORT$1" -d "$2"
  done | python3 -c 'import sys; v=sorted(float(x)*1000 for x in sys.stdin); print("median %.2f ms  p90 %.2f ms  max %.2f ms  (n=%d)"%(v[len(v)//2], v[int(len(v)*0.9)], v[-1], len(v)))'
}

serve() { # data
  "$BIN" --data "$1" -v serve --bind "127.0.0.1:$PORT" >"$WORK/serve.out" 2>"$WORK/serve.err" &
  PID=$!
  for _ in $(seq 1 1200); do grep -q "127.0.0.1:$PORT" "$WORK/serve.out" 2>/dev/null && break; sleep 0.05; done
  grep -ho "evm view.*\|ethereum: .*" "$WORK/serve.err" | sed 's/\x1b\[[0-9;]*m//g'
  echo "server RSS $(ps -o rss= -p $PID) KB; load $(cut -d' ' -f1 /proc/loadavg)"
}

prepare() { # data export sdn.csv
  rm -rf "$1"
  "$BIN" --data "$1" --quiet demo --txs 1000 --seed 7 >/dev/null
  "$BIN" --data "$1" --quiet ingest evm --etl-csv "$2" >/dev/null
  "$BIN" --data "$1" --quiet import csv --source sdn-test "$3" >/dev/null
  KEY=$("$BIN" --data "$1" --quiet --json keys create --tenant bench --role integration --rate 100000 |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
}

if [ -d "$ETL" ]; then
  echo "== real ethereum-etl export"
  printf 'address,label,category,currency\n0x7363f0F6ae82CfF55835c76713531784652c121C,TEST LISTING,sanction,ETH\n' >"$WORK/sdn-real.csv"
  prepare "$WORK/real" "$ETL" "$WORK/sdn-real.csv"
  serve "$WORK/real"
  echo -n "address     "; timeit /v1/screen/address '{"chain":"ethereum","address":"0x7363f0F6ae82CfF55835c76713531784652c121C"}'
  echo -n "deposit     "; timeit /v1/screen/transfer '{"chain":"ethereum","asset":"ETH","direction":"deposit","txid":"0x23d06a64173bda7015d746d608b3db925abce1851e54f85bf637245bacc4e3c8","address":"0x14557aa247a69f3e2af32d50bd79dd06d3166bb8"}'
  echo -n "withdrawal  "; timeit /v1/screen/transfer '{"chain":"ethereum","asset":"ETH","direction":"withdrawal","txid":"0xb0598b5c789b23c15d7d91032df04575b839ad2a56eaae0041d79a58f621e36b"}'
  kill "$PID"; wait "$PID" 2>/dev/null || true
else
  echo "SKIP real export: $ETL is absent"
fi

echo "== synthetic export, 1,000,000 transactions"
python3 - "$WORK" <<'PY'
import os, random, sys
w = sys.argv[1]; random.seed(7); n_acc = 200_000
addr = lambda i: "0x%040x" % (0x1000000 + i * 7919)
os.makedirs(f"{w}/synth", exist_ok=True)
MIXER, THIEF = 60, 100
with open(f"{w}/synth/transactions.csv", "w") as f:
    f.write("hash,block_number,transaction_index,from_address,to_address,value\n")
    n = 0
    for b in range(1, 5001):
        for i in range(200):
            fr = THIEF if b < 50 and i < 4 else 100 + random.randrange(n_acc - 100)
            r = random.randrange(100)
            to = random.randrange(50) if r < 10 else MIXER if r == 10 else 100 + random.randrange(n_acc - 100)
            if to == fr: to = (to + 1) % n_acc + 100
            n += 1
            f.write("0x%064x,%d,%d,%s,%s,%d\n" % (n, b, i, addr(fr), addr(to), random.randrange(1, 10**18)))
with open(f"{w}/sdn-synth.csv", "w") as f:
    f.write("address,label,category\n")
    for e in range(50): f.write(f"{addr(e)},Exchange hot wallet {e},exchange\n")
    f.write(f"{addr(MIXER)},Mixer pool,mixing_service\n{addr(THIEF)},SDN TEST THIEF,sanction\n")
PY
prepare "$WORK/big" "$WORK/synth" "$WORK/sdn-synth.csv"
serve "$WORK/big"
# the first payment of an account the thief paid: 1 hop from the listing
TX=0x0000000000000000000000000000000000000000000000000000000000000fe4
echo -n "address     "; timeit /v1/screen/address '{"chain":"ethereum","address":"0x00000000000000000000000000000000010c155c"}'
echo -n "deposit     "; timeit /v1/screen/transfer "{\"chain\":\"ethereum\",\"asset\":\"ETH\",\"direction\":\"deposit\",\"txid\":\"$TX\"}"
echo -n "withdrawal  "; timeit /v1/screen/transfer "{\"chain\":\"ethereum\",\"asset\":\"ETH\",\"direction\":\"withdrawal\",\"txid\":\"$TX\"}"
kill "$PID"; wait "$PID" 2>/dev/null || true
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
