#!/usr/bin/env bash
# Issue 6 item 9 (BENCHMARKS.md, "Issue 6 — the registry server under load"): `kyso serve`
# (release build) over a province-sized registry — 2,000 agencies, 50,000 subscribers, 60,000
# certificates, 3,000 devices made by crates/kyso-store/examples/gen_registry.rs — on SQLite
# and on PostgreSQL, measured with wrk from a second process on loopback, each run bounded in
# time. Side by side, in the same run, the peer: the same searches answered by the database
# alone (the sqlite3 CLI / psql running the SQL the store runs, with the values inlined).
#   bash scripts/bench-serve.sh                         # both backends, 15 s per measurement
#   SECS=5 BACKENDS=sqlite bash scripts/bench-serve.sh
#   NO_BUILD=1 …                                        # use the release build as it is
# PostgreSQL: a fresh schema in $PG_BASE (default postgres://postgres@127.0.0.1:5432/test),
# dropped at the end. Needs wrk, sqlite3 and psql (bash scripts/setup-test-env.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
W=${BENCH_DIR:-/tmp/kyso-bench-serve}
SECS=${SECS:-15}
CONNS=${CONNS:-32}
PORT=${PORT:-18790}
REPS=${REPS:-20}
BACKENDS=${BACKENDS:-sqlite postgres}
PG_BASE=${PG_BASE:-postgres://postgres@127.0.0.1:5432/test}

# MODE=read-load (issue 15 item 10, BENCHMARKS.md "Issue 15 — writes under a read load"): the
# latency of creating a subscriber while READERS tasks read subscribers' records, each read
# audited — idle, then each read's entry in a write transaction of its own (before), then
# through the queue of reads (after) — one release run of
# crates/kyso-store/examples/read_load.rs per backend, SECS seconds per phase.
#   MODE=read-load SECS=10 READERS=32 bash scripts/bench-serve.sh
if [ "${MODE:-}" = read-load ]; then
  [ -n "${NO_BUILD:-}" ] || cargo build --release -q -p kyso-store --example read_load
  T=${BIN_DIR:-${CARGO_TARGET_DIR:-$root/target}/release}
  rm -rf "$W"; mkdir -p "$W"
  echo "$(nproc) cores, load average before: $(cut -d' ' -f1-3 /proc/loadavg); release build;" \
       "${READERS:-32} readers, ${SECS} s per phase, one create every 10 ms"
  for backend in $BACKENDS; do
    case $backend in
      sqlite) url="sqlite://$W/read-load.db" ;;
      postgres)
        schema=kyso_readload_$$
        psql "$PG_BASE" -X -q -c "DROP SCHEMA IF EXISTS $schema CASCADE; CREATE SCHEMA $schema" >/dev/null
        url="$PG_BASE?options=-c%20search_path%3D$schema" ;;
      *) echo "unknown backend $backend" >&2; exit 1 ;;
    esac
    "$T/examples/read_load" --database-url "$url" --secs "$SECS" --readers "${READERS:-32}" \
      | sed "s/^/$backend /"
    [ "$backend" != postgres ] || psql "$PG_BASE" -X -q -c "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null
  done
  echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
  exit 0
fi
for tool in wrk sqlite3 psql curl python3; do
  command -v "$tool" >/dev/null || { echo "needs $tool: bash scripts/setup-test-env.sh" >&2; exit 1; }
done
[ -n "${NO_BUILD:-}" ] || cargo build --release -q -p kyso --bins -p kyso-store --example gen_registry
T=${BIN_DIR:-${CARGO_TARGET_DIR:-$root/target}/release}
K=$T/kyso
G=$T/examples/gen_registry
rm -rf "$W"
mkdir -p "$W"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
pids=()
schema=""
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -z "$schema" ] || psql "$PG_BASE" -X -q -c "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true
}
trap cleanup EXIT
wait_port() { for _ in $(seq 300); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0; sleep 0.1; done
              echo "server on port $1 did not start" >&2; exit 1; }
field() { sed -n "s/.*$2=\([^ ]*\).*/\1/p" <<<"$1"; }
BASE=http://127.0.0.1:$PORT

# One Lua script for every run: cycles through the paths of $PATHS with the token of $TOKEN;
# prints one RESULT line (all non-2xx answers count as errors).
cat > "$W/cycle.lua" <<'EOF'
local paths = {}
for line in io.lines(os.getenv("PATHS")) do paths[#paths + 1] = line end
local i = math.random(#paths)
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT rps=%.0f p50=%.2f p99=%.2f errors=%d requests=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, e.connect + e.read + e.write + e.status + e.timeout,
    summary.requests))
end
EOF
# wrk TOKEN PATHS-FILE CONNECTIONS THREADS → the RESULT line
run_wrk() { TOKEN=$1 PATHS=$2 wrk -t"$4" -c"$3" -d"${SECS}s" --latency -s "$W/cycle.lua" "$BASE" | grep '^RESULT'; }

# The search cycle: name words without diacritics, a serial, a subtree, expiring within 30
# days, a name inside a subtree. One line per search: kind|q|agency_id|expiring_days
cycle() { # SUBTREE_ID
  cat <<EOF
sub|nguyen van||
sub|tran thi hoa||
cert|$SAMPLE_SERIAL||
sub||$1|
cert|||30
sub|le minh|$1|
EOF
}
urls() { # SUBTREE_ID
  cycle "$1" | python3 -c '
import sys, urllib.parse
for line in sys.stdin:
    kind, q, ag, days = line.rstrip("\n").split("|")
    p = {}
    if q: p["q"] = q
    if ag: p["agency_id"] = ag
    if days: p["expiring_within_days"] = days
    base = "/api/v1/subscribers" if kind == "sub" else "/api/v1/certificates"
    print(base + "?" + urllib.parse.urlencode(p, quote_via=urllib.parse.quote))'
}

# The SQL the store runs for the same searches (registry.rs: search_subscribers,
# search_certificates, dashboard), values inlined. Args: BACKEND SCOPE_PATH SUBTREE_ID NOW;
# one statement per line, REPS rounds; "-- N" before each group of statements of one request.
cat > "$W/peer_sql.py" <<'EOF'
import os, re, sqlite3, subprocess, sys, unicodedata
backend, scope, subtree, now, apaths, fallback, reps, cycle = sys.argv[1:9]
now, reps = int(now), int(reps)
agency_path = dict(kv.split("=", 1) for kv in apaths.split())
def fold(s):
    s = "".join(c for c in unicodedata.normalize("NFD", s) if not unicodedata.combining(c))
    return " ".join(s.replace("đ", "d").replace("Đ", "d").lower().split())
def query_words(q):  # kyso_domain::text::query_words
    out = []
    for w in re.split(r"[^0-9a-z]+", fold(q).replace(":", "")):
        if w and w not in out:
            out.append(w[:64])
    return out[:8]
def prefix_end(w):
    return w[:-1] + chr(ord(w[-1]) + 1)
def fetch_row(sql):  # the peer asks the database itself, as the store does
    if backend == "sqlite":
        return sqlite3.connect(f"file:{os.environ['PEER_DB']}?mode=ro", uri=True).execute(sql).fetchone()
    out = subprocess.check_output(["psql", os.environ["PG_BASE"], "-X", "-qAt", "-F", ",", "-c", sql],
                                  env=dict(os.environ, PGOPTIONS=f"-c search_path={os.environ['PEER_SCHEMA']}"))
    return [int(v) for v in out.decode().strip().split(",")]
def by_words(table, idcol, row, q, whole):
    """registry.rs + words.rs: over the whole province the rarest word (counted up to 10,000)
    drives and the others are checked on it; in a subtree every word is checked per row.
    Returns (the count statements run first, FROM prefix, conditions)."""
    words = query_words(q)
    counts = []
    if len(words) > 1:
        parts = [f"(SELECT COUNT(*) FROM (SELECT 1 FROM {table} WHERE word >= '{w}' "
                 f"AND word < '{prefix_end(w)}' LIMIT 10000) x{i})" for i, w in enumerate(words)]
        c = f"SELECT {', '.join(parts)};"
        counts.append(c)
        ns = list(fetch_row(c[:-1]))
        if 0 in ns:
            return counts, None, None
        words = [w for _, w in sorted(zip(ns, words), key=lambda p: p[0])]
    frm, cond = "", ""
    key = "m.mid" if whole and words else f"{row}.id"
    for i, w in enumerate(words):
        lo, hi = w, prefix_end(w)
        if i == 0 and whole:
            frm = (f"(SELECT DISTINCT {idcol} AS mid FROM {table} WHERE word >= '{lo}' "
                   f"AND word < '{hi}') m CROSS JOIN ")
        else:
            cond += (f" AND EXISTS (SELECT 1 FROM {table} w{i} WHERE w{i}.{idcol} = {key} "
                     f"AND w{i}.word >= '{lo}' AND w{i}.word < '{hi}')")
    if frm:
        cond += f" AND {row}.id = m.mid"
    return counts, frm, cond
SUBCOLS = ("s.id, s.kind, s.agency_id, a.name, s.name, s.date_of_birth, s.id_number, s.email, "
           "s.title, s.unit, s.phone")
CERTCOLS = ("c.id, c.subscriber_id, s.name, c.agency_id, c.serial, c.issuer, c.subject, "
            "c.not_before, c.not_after, c.key_usage, c.status, c.revocation_reason, c.sha256")
I64_MIN, I64_MAX = -(2**63), 2**63 - 1
def under_path(ag):
    return agency_path[ag] if ag else ""
def sub(q, ag):
    whole = scope == "/1/" and not ag
    counts, frm, wcond = by_words("subscriber_words", "subscriber_id", "s", q, whole)
    if frm is None:
        return counts
    f = (f"FROM {frm}subscribers s JOIN agencies a ON a.id = s.agency_id" if whole
         else "FROM agencies a CROSS JOIN subscribers s")
    join = "" if whole else " AND s.agency_id = a.id"
    cond = (f"(a.path LIKE '{scope}%') AND a.path LIKE '{under_path(ag)}%' "
            f"AND ('' = '' OR s.kind = ''){join}{wcond}")
    return counts + [f"SELECT COUNT(*) {f} WHERE {cond};",
            f"SELECT {SUBCOLS} {f} WHERE {cond} ORDER BY s.name_fold || '', s.id LIMIT 50 OFFSET 0;"]
def cert(q, ag, days, limit=50, exact=True):
    whole = scope == "/1/" and not ag
    cond = (f"(a.path LIKE '{scope}%') AND a.path LIKE '{under_path(ag)}%' "
            f"AND -1 < 0")
    if days:
        cond += f" AND c.not_after >= {now} AND c.not_after <= {now + int(days) * 86400} AND c.status = 'active'"
        order = "c.not_after"
    else:
        cond += f" AND {I64_MIN} <= {I64_MAX}"
        order = "c.not_after + 0"
    serial = q.strip().upper().replace(":", "").replace(" ", "")
    holder = "LEFT JOIN subscribers s ON s.id = c.subscriber_id"
    base = f"certificates c JOIN agencies a ON a.id = c.agency_id {holder}"
    counts, frm, wcond = by_words("certificate_words", "certificate_id", "c", q, whole)
    if exact and len(serial) >= 8 and all(ch in "0123456789ABCDEF" for ch in serial):
        # A serial: the store asks the serial index first, and runs the word search when no
        # certificate of the reader's subtrees carries it (fallback=1: the script saw total 0).
        c = [f"SELECT COUNT(*) FROM {base} WHERE {cond} AND c.serial = '{serial}';",
             f"SELECT {CERTCOLS} FROM {base} WHERE {cond} AND c.serial = '{serial}' ORDER BY {order}, c.id LIMIT {limit} OFFSET 0;"]
        return counts + c + (cert(q, ag, days, limit, False)[len(counts):] if fallback == "1" else [])
    if frm is None:
        return counts
    if whole:
        f = f"{frm}{base}"
    else:
        f = f"agencies a CROSS JOIN certificates c {holder}"
        cond += " AND c.agency_id = a.id"
    cond += wcond
    return counts + [f"SELECT COUNT(*) FROM {f} WHERE {cond};",
            f"SELECT {CERTCOLS} FROM {f} WHERE {cond} ORDER BY {order}, c.id LIMIT {limit} OFFSET 0;"]
def dashboard():
    sc = f"(a.path LIKE '{scope}%')"
    w = f"WHERE {sc} AND {now} = {now}"
    e60, e30, e7 = (now + d * 86400 for d in (60, 30, 7))
    sm = lambda cond: f"COALESCE(SUM(CASE WHEN {cond} THEN 1 ELSE 0 END), 0)"
    valid = f"c.status = 'active' AND c.not_after >= {now}"
    locked, lost = "d.state = 'locked'", "d.state = 'lost'"
    sums = ", ".join([sm(valid), sm(f"{valid} AND c.not_after <= {e60}"),
                      sm(f"{valid} AND c.not_after <= {e30}"), sm(f"{valid} AND c.not_after <= {e7}"),
                      sm(f"c.status = 'active' AND c.not_after < {now}"), sm("c.status = 'revoked'")])
    return [f"SELECT COUNT(*) FROM agencies a {w};",
            f"SELECT COUNT(*) FROM subscribers s JOIN agencies a ON a.id = s.agency_id {w};",
            f"SELECT {sums} FROM certificates c JOIN agencies a ON a.id = c.agency_id {w};",
            f"SELECT {sm(locked)}, {sm(lost)} "
            f"FROM devices d JOIN agencies a ON a.id = d.agency_id {w};"] + cert("", "", "60", 10)
lines = [l.split("|") for l in cycle.strip().split("\n")]
for _ in range(reps):
    if subtree == "dashboard":
        print("-- N"); print("\n".join(dashboard()))
        continue
    for kind, q, ag, days in lines:
        print("-- N")
        print("\n".join(sub(q, ag) if kind == "sub" else cert(q, ag, days)))
EOF
# The SQL the store runs for the same searches (registry.rs: search_subscribers,
# search_certificates, dashboard), values inlined; REPS rounds; "-- N" before the statements of
# one request. Args: BACKEND SCOPE_PATH SUBTREE_ID|dashboard NOW "ID=PATH …" FALLBACK(0/1)
peer_sql() { PEER_DB=$data/kyso.db PEER_SCHEMA=$schema PG_BASE=$PG_BASE python3 "$W/peer_sql.py" "$@" "$REPS" "$(cycle "$3")"; }
cat > "$W/peer_stats.py" <<'EOF'
import re, sys
groups = []
for line in open(sys.argv[1]):
    if line.startswith("-- N"):
        groups.append(0)
    elif line.strip():
        groups[-1] += 1
out = open(sys.argv[2]).read()
times = [float(m) * 1000 for m in re.findall(r"Run Time: real ([0-9.]+)", out)] + \
        [float(m) for m in re.findall(r"Time: ([0-9.]+) ms", out)]
if len(times) != sum(groups):
    sys.exit(f"peer: {len(times)} timings for {sum(groups)} statements:\n{out[:2000]}")
per, k = [], 0
for n in groups:
    per.append(sum(times[k:k + n]))
    k += n
per.sort()
pct = lambda p: per[min(len(per) - 1, max(0, -(-p * len(per) // 100) - 1))]
print(f"p50={pct(50):.2f} p99={pct(99):.2f}")
EOF
# Run the peer SQL on the backend; print "p50=… p99=…" per request (sum of its statements).
peer_run() { # BACKEND URL SQL-FILE
  case $1 in
    sqlite) { echo ".timer on"; echo ".output /dev/null"; cat "$3"; } \
              | sqlite3 -readonly "${2#sqlite://}" > "$3.out" 2>&1 ;;
    postgres) { echo '\timing on'; echo '\o /dev/null'; cat "$3"; } \
                | PGOPTIONS="-c search_path=$schema" psql "$PG_BASE" -X -q -v ON_ERROR_STOP=1 > "$3.out" 2>&1 ;;
  esac
  python3 "$W/peer_stats.py" "$3" "$3.out"
}
mark() { python3 -c "import sys; v=float(sys.argv[1]); print(('✔' if (v<float(sys.argv[2]) if sys.argv[3]=='lt' else v>=float(sys.argv[2])) else '✘ MISSED'))" "$1" "$2" "$3"; }
ratio() { python3 -c "import sys; print(f'{float(sys.argv[1])/max(float(sys.argv[2]),1e-9):.1f}')" "$1" "$2"; }

table=$W/table.md
{
  echo "| backend | what | kyso p50 | kyso p99 | database alone p50 / p99 (same run) | p99 ratio | target |"
  echo "|---|---|---|---|---|---|---|"
} > "$table"
tput_table=$W/throughput.md
{
  echo "| backend | authenticated reads, $CONNS connections, 2 wrk threads, ${SECS} s | requests/s | p50 | p99 | errors | target |"
  echo "|---|---|---|---|---|---|---|"
} > "$tput_table"

for backend in $BACKENDS; do
  echo "== $backend: generating" >&2
  data=$W/$backend-data
  mkdir -p "$data"
  case $backend in
    sqlite) url="sqlite://$data/kyso.db"; extra=() ;;
    postgres)
      schema=kyso_bench_$$
      psql "$PG_BASE" -X -q -c "DROP SCHEMA IF EXISTS $schema CASCADE; CREATE SCHEMA $schema" >/dev/null
      url="$PG_BASE?options=-c%20search_path%3D$schema"; extra=(--database-url "$url") ;;
    *) echo "unknown backend $backend" >&2; exit 1 ;;
  esac
  start=$(date +%s.%N)
  "$G" --database-url "$url" > "$W/$backend.env"
  gen_secs=$(python3 -c "import sys,time; print(f'{time.time()-float(sys.argv[1]):.1f}')" "$start")
  # shellcheck disable=SC1090
  source "$W/$backend.env"
  "$K" serve --no-demo --root-code H98 --root-name X --data-dir "$data" "${extra[@]}" \
    --listen "127.0.0.1:$PORT" > "$W/$backend-serve.log" 2>&1 &
  pids+=($!)
  wait_port "$PORT"
  # Agency paths (for the peer's subtree filters).
  q="SELECT id || '=' || path FROM agencies WHERE id IN ($OFFICER_AGENCY_ID, $SUBTREE_AGENCY_ID)"
  case $backend in
    sqlite) apaths=$(sqlite3 -readonly "$data/kyso.db" "$q") ;;
    postgres) apaths=$(PGOPTIONS="-c search_path=$schema" psql "$PG_BASE" -X -qAt -c "$q") ;;
  esac
  officer_path=$(sed -n "s/^$OFFICER_AGENCY_ID=//p" <<<"$apaths")
  now=$(date +%s)

  urls "$SUBTREE_AGENCY_ID" > "$W/admin.paths"
  urls "$OFFICER_AGENCY_ID" > "$W/officer.paths"
  echo /api/v1/dashboard > "$W/dashboard.paths"
  # Point reads (certificate, agency, device by id; reading a subscriber is audited, so not
  # here), random ids.
  python3 -c '
import random; random.seed(1)
for _ in range(3000):
    k = random.randrange(3)
    print(["/api/v1/certificates/%d" % random.randint(1, 60000),
           "/api/v1/agencies/%d" % random.randint(1, 2000),
           "/api/v1/devices/%d" % random.randint(1, 3000)][k])' > "$W/point.paths"
  # Every path answers 200 before anything is timed; totals for the record.
  echo "== $backend: generated in ${gen_secs} s; what the searches find (admin / officer totals):" >&2
  for who in admin officer; do
    tok=$ADMIN_TOKEN; [ "$who" = admin ] || tok=$OFFICER_TOKEN
    while read -r p; do
      body=$(curl -s -w '\n%{http_code}' -H "Authorization: Bearer $tok" "$BASE$p")
      code=${body##*$'\n'}
      [ "$code" = 200 ] || { echo "$who $p answered $code: ${body%$'\n'*}" >&2; exit 1; }
      total=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get("total"))' "${body%$'\n'*}")
      echo "  $who $p → total $total" >&2
      if [[ $p == *certificates?q=* ]]; then
        if [ "$total" = 0 ]; then eval "fallback_$who=1"; else eval "fallback_$who=0"; fi
      fi
    done < "$W/$who.paths"
  done
  curl -sf -H "Authorization: Bearer $ADMIN_TOKEN" "$BASE/api/v1/dashboard" \
    | python3 -c 'import json,sys; d=json.load(sys.stdin); d.pop("soonest"); print("  dashboard", d)' >&2

  echo "== $backend: measuring (${SECS} s each)" >&2
  s_admin=$(run_wrk "$ADMIN_TOKEN" "$W/admin.paths" 1 1)
  s_officer=$(run_wrk "$OFFICER_TOKEN" "$W/officer.paths" 1 1)
  s_dash=$(run_wrk "$ADMIN_TOKEN" "$W/dashboard.paths" 1 1)
  t_point=$(run_wrk "$ADMIN_TOKEN" "$W/point.paths" "$CONNS" 2)
  t_search=$(run_wrk "$ADMIN_TOKEN" "$W/admin.paths" "$CONNS" 2)
  t_dash=$(run_wrk "$ADMIN_TOKEN" "$W/dashboard.paths" "$CONNS" 2)
  kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true; pids=()

  echo "== $backend: the database alone" >&2
  peer_sql "$backend" /1/ "$SUBTREE_AGENCY_ID" "$now" "$apaths" "$fallback_admin" > "$W/peer-admin.sql"
  peer_sql "$backend" "$officer_path" "$OFFICER_AGENCY_ID" "$now" "$apaths" "$fallback_officer" > "$W/peer-officer.sql"
  peer_sql "$backend" /1/ dashboard "$now" "" 0 > "$W/peer-dash.sql"
  p_admin=$(peer_run "$backend" "$url" "$W/peer-admin.sql")
  p_officer=$(peer_run "$backend" "$url" "$W/peer-officer.sql")
  p_dash=$(peer_run "$backend" "$url" "$W/peer-dash.sql")

  row() { # WHAT WRK-RESULT PEER TARGET-MS
    local k99; k99=$(field "$2" p99)
    echo "| $backend | $1 | $(field "$2" p50) ms | **$k99 ms** | $(field "$3" p50) / $(field "$3" p99) ms" \
         "| $(ratio "$k99" "$(field "$3" p99)") | < $4 ms $(mark "$k99" "$4" lt) |" >> "$table"
  }
  row "search, admin (whole province), 1 connection" "$s_admin" "$p_admin" 50
  row "search, officer (one department), 1 connection" "$s_officer" "$p_officer" 50
  row "dashboard, admin (whole province), 1 connection" "$s_dash" "$p_dash" 200
  trow() { # WHAT WRK-RESULT TARGET
    echo "| $backend | $1 | **$(field "$2" rps)** | $(field "$2" p50) ms | $(field "$2" p99) ms | $(field "$2" errors)" \
         "| $3 |" >> "$tput_table"
  }
  trow "point reads (certificate, agency, device by id)" "$t_point" "≥ 1,000/s $(mark "$(field "$t_point" rps)" 1000 ge)"
  trow "the search cycle, admin" "$t_search" ""
  trow "dashboard, admin" "$t_dash" ""
  if [ "$backend" = postgres ]; then
    psql "$PG_BASE" -X -q -c "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null; schema=""
  fi
done

echo
echo "$(nproc) cores, load average before the run: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg); release build; wrk from a second process on loopback"
echo
cat "$table"
echo
cat "$tput_table"
