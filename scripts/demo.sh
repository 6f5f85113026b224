#!/usr/bin/env bash
# The demo: start the demo tree (9 cell processes on loopback, a fake oVirt
# engine, two load-balancer agents and the API) in the background, drive it with the cellrouter CLI and
# the openstack CLI, and leave it running with its dashboard.
#
#   scripts/demo.sh DIR              start (or reuse) the tree, run the tour
#   scripts/demo.sh --teardown DIR   the same, then stop the tree
#   scripts/demo.sh --down DIR       stop a tree left running
set -euo pipefail
cd "$(dirname "$0")/.."

mode=run
case "${1:-}" in
    --down) mode=down; shift ;;
    --teardown) mode=teardown; shift ;;
esac
DIR=${1:-state/demo}
CR=.venv/bin/cellrouter
PIDFILE="$DIR/up.pid"
LOG="$DIR/up.log"

running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

stop_tree() {
    if running; then
        kill -TERM "$(cat "$PIDFILE")"
        for _ in $(seq 100); do running || break; sleep 0.1; done
        echo "demo tree stopped"
    else
        echo "no demo tree running in $DIR"
    fi
    rm -f "$PIDFILE"
}

if [ "$mode" = down ]; then
    stop_tree
    exit 0
fi

mkdir -p "$DIR"
if running; then
    echo "reusing the demo tree already running (pid $(cat "$PIDFILE"))"
else
    rm -rf "$DIR/cells"
    setsid "$CR" up examples/demo-tree.toml --state-dir "$DIR/cells" >"$LOG" 2>&1 </dev/null &
    echo $! >"$PIDFILE"
    for _ in $(seq 600); do
        grep -q '^top: ' "$LOG" 2>/dev/null && break
        if ! running; then cat "$LOG" >&2; echo "the demo tree failed to start" >&2; exit 1; fi
        sleep 0.1
    done
    grep -q '^top: ' "$LOG" || { cat "$LOG" >&2; echo "the demo tree did not come up" >&2; exit 1; }
fi
TOP=$(sed -n 's/^top: //p' "$LOG" | tail -n 1)
export CELLROUTER_CELL=$TOP

step() { printf '\n\033[1m$ cellrouter %s\033[0m\n' "$*"; "$CR" "$@"; }
uuid_of() { "$CR" "$@" --json | "${VENV:-.venv}/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["uuid"])'; }
uuid_named() { "$CR" list --name-prefix "$1" --json | "${VENV:-.venv}/bin/python" -c \
    'import json,sys; print(next(i["uuid"] for i in json.load(sys.stdin)["instances"] if i["name"] == sys.argv[1]))' "$1"; }

echo "demo tree up; top cell at $TOP"
# The tree file says `insecure = true`; `cellrouter up` said so in its log too.
grep '^insecure: ' "$LOG" | tail -n 1 || true
# Notifications are on when RabbitMQ answered as the tree started; `up` said which.
grep '^notifications: ' "$LOG" | tail -n 1 || true
echo "(a tree file with tls = true instead gives every cell a certificate from a development CA, and clients need a token)"
step tree

printf '\n\033[1m# boot five instances through the top; each level picks a child at random among those with room\033[0m\n'
WEB=$(uuid_of boot web-1 --vcpus 2 --memory-mb 4096 --disk-gb 20 --image debian-12 \
    --port prod,52:54:00:00:10:01,10.0.10.1 --project shop)
uuid_of boot web-2 --vcpus 2 --memory-mb 4096 --disk-gb 20 --image debian-12 \
    --port prod,52:54:00:00:10:02,10.0.10.2 --project shop >/dev/null
uuid_of boot db-1 --vcpus 8 --memory-mb 32768 --disk-gb 500 --image debian-12 \
    --project shop --target-cell 'top!eu' >/dev/null
uuid_of boot batch-1 --vcpus 4 --memory-mb 8192 --project science --target-cell 'top!us!us-b' >/dev/null
uuid_of boot batch-2 --vcpus 4 --memory-mb 8192 --project science >/dev/null
step list

printf '\n\033[1m# where would the next one go? a dry run ranks the choices and says why\033[0m\n'
step boot planned --vcpus 16 --memory-mb 65536 --dry-run

step locate "$WEB"
step pause "$WEB" --wait
step unpause "$WEB" --wait

printf '\n\033[1m# refusals carry a status code and name the cell\033[0m\n'
step unpause "$WEB" --wait || true
step boot huge --vcpus 512 --memory-mb 1024 || true

printf '\n\033[1m# a legacy oVirt pool is a cell like the others; a policy keeps the project finance there\033[0m\n'
printf '\033[1m# (--count boots NAME-1..NAME-N; the request ids come from --request-id, so a rerun builds nothing twice)\033[0m\n'
step boot ledger --count 3 --vcpus 2 --memory-mb 4096 --project finance --request-id demo-ledger
LEDGER=$(uuid_named ledger-1)
printf '\n\033[1m# oVirt cannot pause: the tree refuses with the reason before the engine is asked; suspend works\033[0m\n'
step pause "$LEDGER" --wait || true
step suspend "$LEDGER" --wait

printf '\n\033[1m# the same tree places service objects on agents: a load balancer VIP lands on an agent of us-lb\033[0m\n'
for _ in $(seq 100); do  # the agents report within a moment of starting
    "$CR" tree --json | grep -q '"loadbalancer/haproxy"' && break
    sleep 0.1
done
step place loadbalancer web-vip --needs haproxy --project shop --request-id demo-web-vip
step place loadbalancer amphora-vip --needs octavia-amphora --project shop --request-id demo-amp-vip
printf '\033[1m# asked at the top, the agents of every leaf below it, each with its leaf\033[0m\n'
step agents list

printf '\n\033[1m# cellrouter up keeps the tree running: a region cell killed with SIGKILL is started again\033[0m\n'
PY="${VENV:-.venv}/bin/python"
pid_of() { "$CR" processes --state-dir "$DIR/cells" --json | "$PY" -c \
    'import json,sys; print(next(p["pid"] for p in json.load(sys.stdin) if p["name"] == sys.argv[1]))' "$1"; }
OLD=$(pid_of "cell us")
echo "\$ kill -KILL $OLD   # cell us"
kill -KILL "$OLD"
for _ in $(seq 600); do  # until up has started it again and the top sees it up
    NEW=$(pid_of "cell us")
    [ "$NEW" != "$OLD" ] && "$CR" tree --json | "$PY" -c \
        'import json,sys
def walk(n):
    yield n
    for c in n["children"]: yield from walk(c)
sys.exit(0 if any(n["name"] == "us" and n["up"] for n in walk(json.load(sys.stdin))) else 1)' \
        && break
    sleep 0.1
done
grep ' up: cell us ' "$LOG" | tail -n 2
step processes --state-dir "$DIR/cells"

step tree --state-dir "$DIR/cells"

# The same tree through the OpenStack API, with the openstack CLI users already have.
OPENRC="$DIR/cells/api/openrc"
if [ -f "$OPENRC" ]; then
    # shellcheck disable=SC1090
    . "$OPENRC"
    OS=.venv/bin/openstack
    ostep() { printf '\n\033[1m$ openstack %s\033[0m\n' "$*"; "$OS" "$@"; }
    printf '\n\033[1m# the OpenStack API in front of the top: %s\033[0m\n' "$(sed -n 's/^api: //p' "$LOG" | tail -n 1)"
    if ! "$OS" server show api-1 >/dev/null 2>&1; then  # once, when the tree is reused
        ostep server create --flavor small --image debian-12 --nic none --wait api-1 \
            -c id -c status -c name
    fi
    ostep server list --all-projects
    DASHBOARD=$(sed -n 's/^dashboard: //p' "$LOG" | tail -n 1)
fi

if [ "$mode" = teardown ]; then
    stop_tree
    exit 0
fi
cat <<EOT

The demo tree is still running (logs and databases in $DIR/cells). Try:

  export CELLROUTER_CELL=$TOP
  .venv/bin/cellrouter list
  .venv/bin/cellrouter suspend $WEB --wait
  .venv/bin/cellrouter show $WEB
  .venv/bin/cellrouter boot my-vm --vcpus 1 --memory-mb 512 --target-cell 'top!us!us-a'
  .venv/bin/cellrouter tree --json

or with OpenStack tools (the CLI, openstacksdk, Terraform):

  . $OPENRC
  .venv/bin/openstack server list --long
  .venv/bin/openstack server pause api-1
  .venv/bin/openstack server create --flavor small --image debian-12 --nic none vm-2 --wait

The dashboard (the live tree, each cell's hosts and instances, a placement dry run):

  ${DASHBOARD:-see $LOG}

Stop it with: make demo-down
EOT
