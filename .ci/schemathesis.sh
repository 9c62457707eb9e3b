#!/usr/bin/env bash
# schemathesis (all checks) against the OpenAPI document a real `pitwall serve` serves, once per
# role with that role's token. Every phase by default: the coverage phase's boundary cases
# (about 3,300 for the three roles, minutes of CPU drawing them) and fuzzing bounded by examples
# per operation (ST_EXAMPLES, default 30); ST_PHASES picks phases (CI runs fuzzing only).
# Installs schemathesis into target/schemathesis-venv from PyPI when missing.
# Caller-chosen ids follow a Unicode-category rule no JSON Schema pattern states portably: the
# document names it as the format "pitwall-id", and schemathesis_hooks.py draws such ids by the
# same rule. A plan's shifts may not overlap, which no schema states: the hooks drop overlapping
# shifts from a body meant to be valid.
# Usage: [ST_ROLES="intake mechanic dispatcher"] [ST_PHASES=examples,coverage,fuzzing] \
#        [ST_EXAMPLES=30] [ST_EXTRA="more flags"] bash .ci/schemathesis.sh [target/debug/pitwall]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bin="${1:-target/debug/pitwall}"
case "$bin" in /*) ;; *) bin="$root/$bin" ;; esac
examples="${ST_EXAMPLES:-30}"
venv=target/schemathesis-venv
if [ ! -x "$venv/bin/schemathesis" ]; then
  # Without PyPI (no network) there is nothing to run: say so, and do not fail the build on it.
  if ! { python3 -m venv "$venv" && "$venv/bin/pip" install -q schemathesis; }; then
    echo "schemathesis could not be installed (no network to PyPI?): skipped"
    rm -rf "$venv"
    exit 0
  fi
fi
work=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
db="$work/st.db"
printf '%s\n' "{\"cmd\":\"load_seeds\",\"path\":\"$PWD/seeds/mechanics.json\"}" \
  | "$bin" headless --db "$db" --clock system >/dev/null
for i in 1 2 3; do
  echo "{\"cmd\":\"intake\",\"id\":\"S$i\",\"customer\":{\"name\":\"Ava Chen\",\"email\":\"ava@example.com\"},\"location\":{\"country\":\"Canada\",\"province\":\"ON\",\"city\":\"Toronto\",\"postal_code\":\"M5V 3L9\"},\"vehicle\":{\"year\":2019,\"make\":\"Honda\",\"model\":\"Civic\"},\"concern\":\"check engine light\",\"payment_method\":\"free\"}"
done | "$bin" headless --db "$db" --clock system >/dev/null
mechanic=$(echo '{"cmd":"mechanics"}' | "$bin" headless --db "$db" --clock system \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["mechanics"][0]["id"])')
declare -A tokens
tokens[dispatcher]=$("$bin" token create --role dispatcher --db "$db" 2>/dev/null)
tokens[mechanic]=$("$bin" token create --role mechanic --mechanic "$mechanic" --db "$db" 2>/dev/null)
tokens[intake]=$("$bin" token create --role intake --db "$db" 2>/dev/null)
# Streams end after a tenth of a second, so a test request to /v1/events gets its whole answer
# soon (the coverage phase sends hundreds).
printf '[serve]\nrate_per_second = 100000\nburst = 100000\nstream_seconds = 0.1\n' > "$work/st.toml"
"$bin" serve --db "$db" --listen 127.0.0.1:0 --config "$work/st.toml" > "$work/serve.out" 2> "$work/serve.log" &
server_pid=$!
for _ in $(seq 1 100); do
  grep -q listening "$work/serve.out" 2>/dev/null && break
  sleep 0.1
done
url=$(sed -n 's/.*listening on //p' "$work/serve.out")
# The token as the document's bearer scheme (not a bare header), so schemathesis knows which
# header is the credential when it tests requests without one.
printf '[auth.openapi.bearer]\nbearer = "${ST_TOKEN}"\n' > "$work/schemathesis.toml"
export SCHEMATHESIS_HOOKS=schemathesis_hooks
export PYTHONPATH="$PWD/.ci${PYTHONPATH:+:$PYTHONPATH}"
# The roles run side by side (schemathesis draws its cases on one core; this machine has more),
# each into its own log, printed in turn once all are done.
declare -A runs
for role in ${ST_ROLES:-intake mechanic dispatcher}; do
  # The document is the role's own: fetched with its token, then tested against the server.
  python3 - "$url/v1/openapi.json" "${tokens[$role]}" > "$work/$role.json" <<'PY'
import sys, urllib.request
request = urllib.request.Request(sys.argv[1], headers={"Authorization": "Bearer " + sys.argv[2]})
sys.stdout.write(urllib.request.urlopen(request).read().decode())
PY
  # Each in a scratch directory of its own: schemathesis keeps a cache in the directory it runs in.
  mkdir -p "$work/run-$role"
  (cd "$work/run-$role" && ST_TOKEN="${tokens[$role]}" "$root/$venv/bin/schemathesis" \
      --config-file "$work/schemathesis.toml" \
      run "$work/$role.json" --url "$url" --checks all \
      --phases "${ST_PHASES:-examples,coverage,fuzzing}" \
      --max-examples "$examples" --request-timeout 10 --no-color \
      --suppress-health-check all ${ST_EXTRA:-}) > "$work/$role.log" 2>&1 &
  runs[$role]=$!
done
status=0
for role in ${ST_ROLES:-intake mechanic dispatcher}; do
  if wait "${runs[$role]}"; then result=passed; else result=FAILED; status=1; fi
  echo "== schemathesis as $role: $result"
  cat "$work/$role.log"
done
if grep -q panicked "$work/serve.log"; then
  echo "the server panicked:"; grep -A5 panicked "$work/serve.log"; status=1
fi
exit $status
