#!/usr/bin/env bash
# Build the Bento into a real container image, run it, and prove it answers POST /analyze.
#
# Made for machines like the development ones: no Docker engine running and no container
# registry reachable, but PyPI and Debian's package mirror reachable, and root. It
#   1. installs Debian's docker.io and debootstrap when missing,
#   2. starts its own dockerd (overlay2 storage, or vfs where overlayfs cannot mount; no iptables,
#      no bridge; its own socket, data and exec roots under a temporary directory),
#   3. builds the models into a BentoML store (default: a temporary store with the small
#      test-profile models; --store DIR uses an existing store, e.g. ~/bentoml after `make models`),
#      then `bentoml build`,
#   4. uses python:3.11-slim when a registry answers, and otherwise makes the Debian bookworm base
#      image itself with debootstrap (Python 3.11 is bookworm's python3), cached by name in the
#      docker data root when TRIAGE_DOCKER_ROOT keeps that root between runs,
#   5. builds the context `bentoml containerize` would build (the Bento, its models, the generated
#      Dockerfile) with `docker build` and the classic builder (`containerize` needs BuildKit/buildx,
#      which Debian's docker.io lacks, and BuildKit's frontend image comes from a registry); only
#      the FROM line and uv overrides differ: torch from the local CPU wheel (PyPI's torch==2.13.0
#      for Linux is a multi-GB CUDA build), no triton (GPU kernels, 1 GB),
#   6. runs the image with host networking on a free loopback port, waits for /readyz, posts a real
#      clip to /analyze, checks the answer has a `decision` with a boolean `is_emergency`,
#   7. prints image size, build time, time from `docker run` to ready and the /analyze answer,
#      then stops what it started, by id (container, dockerd), and removes its temporary files.
#
# Usage (as root, from anywhere):
#   scripts/container_smoke.sh                     # temporary test-profile model store
#   scripts/container_smoke.sh --store ~/bentoml   # the store `make models` filled (default profile)
#   scripts/container_smoke.sh --topology          # then also one container per service, as deploy/
#                                                  # runs them: four runners and the API wired by URL;
#                                                  # kills a runner (503), restarts it (/readyz 200)
#
# Environment:
#   TRIAGE_SMOKE_STORE    same as --store
#   TRIAGE_DOCKER_STORAGE dockerd storage driver: auto (default: overlay2 when an overlay mount
#                         works here, else vfs), overlay2 or vfs
#   TRIAGE_DOCKER_ROOT    a persistent dockerd data root: keeps the base image (and, with
#                         TRIAGE_KEEP_IMAGE=1, the built image) between runs; default: temporary
#   TRIAGE_KEEP_IMAGE     1 = keep the built image in TRIAGE_DOCKER_ROOT (default 0)
#   TRIAGE_BASE_IMAGE     base image name (default: triage-bookworm-py311:1, made by debootstrap)
#   TRIAGE_IMAGE          tag of the built image (default: korean-emergency-triage:smoke)
#   TRIAGE_TORCH_WHEEL    the CPU torch wheel installed instead of PyPI's CUDA build
#   TRIAGE_DEBIAN_MIRROR  debootstrap mirror (default: the first Debian URI of this machine's apt
#                         sources, /etc/apt/sources.list.d/*.sources or *.list, /etc/apt/sources.list)
#   TRIAGE_SMOKE_CLIP     the clip posted to /analyze
#   TRIAGE_READY_TIMEOUT  seconds to wait for /readyz (default 600)
set -euo pipefail
# The whole script is one block, read before it runs: editing the file mid-run cannot derail it.
{
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"

STORE=${TRIAGE_SMOKE_STORE:-}
TOPOLOGY=0
while [ $# -gt 0 ]; do
    case "$1" in
        --topology) TOPOLOGY=1; shift ;;
        --store) STORE=$(cd "$2" && pwd); shift 2 ;;
        --store=*) STORE=$(cd "${1#--store=}" && pwd); shift ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done

PY=$REPO/.venv/bin/python
BENTOML=$REPO/.venv/bin/bentoml
DEFAULT_BASE=triage-bookworm-py311:1
BASE_IMAGE=${TRIAGE_BASE_IMAGE:-$DEFAULT_BASE}
IMAGE=${TRIAGE_IMAGE:-korean-emergency-triage:smoke}
TORCH_WHEEL=${TRIAGE_TORCH_WHEEL:-/opt/wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl}
CLIP=${TRIAGE_SMOKE_CLIP:-$REPO/../shared/audio/speech/emotiontts_lmy02120.wav}
READY_TIMEOUT=${TRIAGE_READY_TIMEOUT:-600}
KEEP_IMAGE=${TRIAGE_KEEP_IMAGE:-0}

# The mirror this machine's apt already uses (deb822 ``URIs:`` or one-line ``deb`` entries; not the
# security archive, which has no full suite for debootstrap): no host name is written in here.
apt_mirror() {
    {
        grep -hsE '^[[:space:]]*URIs:' /etc/apt/sources.list.d/*.sources | sed -E 's/^[[:space:]]*URIs:[[:space:]]*//' | tr ' ' '\n'
        grep -hsE '^[[:space:]]*deb[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
            | sed -E 's/\[[^]]*\]//' | awk '{print $2}'
    } | grep -E '^https?://' | grep -v -- '-security' | head -1
}
MIRROR=${TRIAGE_DEBIAN_MIRROR:-$(apt_mirror)}

T0=$SECONDS
free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
step() { printf '\n==> [%4ss] %s\n' "$((SECONDS - T0))" "$*"; }
die() { printf '\nFAILED: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root: dockerd, debootstrap and apt-get need it"
[ -x "$PY" ] || die "no $PY: run 'make setup' first"
[ -f "$TORCH_WHEEL" ] || die "no CPU torch wheel at $TORCH_WHEEL (set TRIAGE_TORCH_WHEEL)"
[ -f "$CLIP" ] || die "no clip at $CLIP (set TRIAGE_SMOKE_CLIP)"
[ -n "$MIRROR" ] || die "no Debian mirror in this machine's apt sources (set TRIAGE_DEBIAN_MIRROR)"

WORK=$(mktemp -d /tmp/triage-smoke.XXXXXX)
DOCKER_ROOT=${TRIAGE_DOCKER_ROOT:-$WORK/docker-data}
SOCK=$WORK/docker.sock
export DOCKER_HOST=unix://$SOCK
export DOCKER_BUILDKIT=0  # the classic builder: no buildx plugin, no frontend image to pull
DOCKERD_PID=""
WHEEL_SERVER_PID=""
CONTAINER=""
TOPO_CONTAINERS=()
IMAGE_BUILT=0

# Unmount whatever is still mounted in $WORK or the docker data root (debootstrap's /proc and
# /sys when it fails, dockerd's overlay mounts when it had to be killed), deepest first, so that
# rm -rf never walks into /proc or /sys.
unmount_leftovers() {
    local mnt
    awk -v w="$WORK" -v d="$DOCKER_ROOT" \
        '$2 == w || $2 == d || index($2, w "/") == 1 || index($2, d "/") == 1 {print $2}' /proc/mounts \
        | sort -r | while read -r mnt; do umount -l "$mnt" 2>/dev/null || true; done
}

cleanup() {
    local rc=$?
    set +e
    trap - EXIT INT TERM
    if [ -n "$CONTAINER" ]; then
        if [ "$rc" -ne 0 ]; then
            echo "--- last lines of the container's log ---"
            docker logs --tail 60 "$CONTAINER" 2>&1
        fi
        step "stopping container ${CONTAINER:0:12}"
        docker stop -t 10 "$CONTAINER" >/dev/null 2>&1
        docker rm -f "$CONTAINER" >/dev/null 2>&1
    fi
    for c in "${TOPO_CONTAINERS[@]}"; do
        [ "$rc" -ne 0 ] && { echo "--- last lines of $c ---"; docker logs --tail 20 "$c" 2>&1; }
        docker rm -f "$c" >/dev/null 2>&1
    done
    if [ -n "$WHEEL_SERVER_PID" ]; then
        kill "$WHEEL_SERVER_PID" 2>/dev/null
        wait "$WHEEL_SERVER_PID" 2>/dev/null
    fi
    if [ -n "$DOCKERD_PID" ] && kill -0 "$DOCKERD_PID" 2>/dev/null; then
        if [ -n "${TRIAGE_DOCKER_ROOT:-}" ] && [ "$IMAGE_BUILT" = 1 ] && [ "$KEEP_IMAGE" != 1 ]; then
            docker rmi "$IMAGE" >/dev/null 2>&1
        fi
        step "stopping dockerd (pid $DOCKERD_PID)"
        kill -TERM "$DOCKERD_PID"
        for _ in $(seq 60); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 1; done
        kill -0 "$DOCKERD_PID" 2>/dev/null && kill -KILL "$DOCKERD_PID"
    fi
    unmount_leftovers
    step "removing $WORK${TRIAGE_DOCKER_ROOT:+ (keeping docker data root $TRIAGE_DOCKER_ROOT)}"
    rm -rf "$WORK"
    [ "$rc" -eq 0 ] || echo "container smoke test FAILED (exit $rc)" >&2
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- 1. tools -------------------------------------------------------------------------------
missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
    step "installing ${missing[*]} (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# --- 2. our own dockerd ---------------------------------------------------------------------
# overlay2 when this kernel mounts overlayfs here: vfs copies the whole file system for every
# Dockerfile step (35 steps, up to ~3 GB each), which makes the build many times slower.
STORAGE=${TRIAGE_DOCKER_STORAGE:-auto}
if [ "$STORAGE" = auto ]; then
    STORAGE=vfs
    mkdir -p "$WORK/ovl"/{lower,upper,work,merged}
    if mount -t overlay overlay -o "lowerdir=$WORK/ovl/lower,upperdir=$WORK/ovl/upper,workdir=$WORK/ovl/work" \
        "$WORK/ovl/merged" 2>/dev/null; then
        umount "$WORK/ovl/merged"
        STORAGE=overlay2
    fi
    rm -rf "$WORK/ovl"
fi
step "starting dockerd ($STORAGE, socket $SOCK, data root $DOCKER_ROOT)"
mkdir -p "$DOCKER_ROOT" "$WORK/exec"
dockerd --storage-driver="$STORAGE" --iptables=false --bridge=none \
    --data-root "$DOCKER_ROOT" --exec-root "$WORK/exec" --pidfile "$WORK/dockerd.pid" \
    -H "unix://$SOCK" >"$WORK/dockerd.log" 2>&1 &
DOCKERD_PID=$!
for _ in $(seq 60); do
    docker version >/dev/null 2>&1 && break
    kill -0 "$DOCKERD_PID" 2>/dev/null || { tail -20 "$WORK/dockerd.log"; die "dockerd exited"; }
    sleep 1
done
docker version >/dev/null 2>&1 || { tail -20 "$WORK/dockerd.log"; die "dockerd did not answer in 60 s"; }
echo "dockerd $(docker version -f '{{.Server.Version}}') is up (pid $DOCKERD_PID)"

# --- 3. models and the Bento ----------------------------------------------------------------
if [ -z "$STORE" ]; then
    STORE=$WORK/bentoml-home
    step "building the test-profile models into a temporary store ($STORE)"
    t=$SECONDS
    BENTOML_HOME=$STORE "$PY" -m training.build_models --profile test
    # The service needs all five (BentoModel); older build_models versions left fusion out.
    if ! BENTOML_HOME=$STORE "$BENTOML" models get fusion:latest >/dev/null 2>&1; then
        BENTOML_HOME=$STORE "$PY" -m training.fusion.train --profile test
    fi
    echo "models built in $((SECONDS - t)) s"
else
    step "using the model store $STORE"
fi
export BENTOML_HOME=$STORE
"$BENTOML" models list

step "bentoml build"
t=$SECONDS
BENTO_TAG=$("$BENTOML" build --output tag | grep -o "__tag__:.*" | cut -d: -f2-)
[ -n "$BENTO_TAG" ] || die "bentoml build printed no tag"
echo "built $BENTO_TAG in $((SECONDS - t)) s"

# The build context `bentoml containerize` would hand to its builder: the Bento, the models it
# references copied in from the store under models/, and the Dockerfile generated without BuildKit.
CTX=$WORK/context
DOCKERFILE=$CTX/$("$PY" - "$BENTO_TAG" "$CTX" <<'EOF'
import os, shutil, sys
import bentoml
from bentoml._internal.container import construct_containerfile
with construct_containerfile(bentoml.bentos.get(sys.argv[1]), enable_buildkit=False) as (ctx, dockerfile):
    shutil.copytree(ctx, sys.argv[2], symlinks=True)
    print(os.path.relpath(dockerfile, ctx))
EOF
)
echo "build context: $(du -sh "$CTX" | cut -f1), models: $(ls "$CTX/models" | tr '\n' ' ')"
[ "$(ls "$CTX/models" | wc -l)" -eq 5 ] || die "expected five models in the build context"

# --- 4. base image --------------------------------------------------------------------------
GENERATED_BASE=$(awk 'toupper($1) == "FROM" {print $2; exit}' "$DOCKERFILE")
if [ -z "${TRIAGE_BASE_IMAGE:-}" ] && timeout 10 curl -s -o /dev/null https://registry-1.docker.io/v2/; then
    BASE_IMAGE=$GENERATED_BASE
    step "a registry answers: using the generated Dockerfile's base image $BASE_IMAGE"
    docker pull "$BASE_IMAGE"
elif docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    step "base image $BASE_IMAGE is cached in $DOCKER_ROOT"
elif [ "$BASE_IMAGE" = "$DEFAULT_BASE" ]; then
    step "no registry: making $BASE_IMAGE with debootstrap bookworm (a few minutes)"
    t=$SECONDS
    ROOTFS=$WORK/rootfs
    # What the generated Dockerfile's apt-get steps install anyway (ca-certificates gnupg2 bash
    # build-essential git + system_packages), so that they find it all in the cached base image.
    debootstrap --variant=minbase \
        --include=python3,python3-pip,ca-certificates,gnupg2,build-essential,git,libsndfile1 \
        bookworm "$ROOTFS" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
        || { tail -30 "$WORK/debootstrap.log"; die "debootstrap failed"; }
    # The generated Dockerfile installs uv with the system pip; Debian marks its Python as
    # externally managed (PEP 668), which would refuse that.
    rm -f "$ROOTFS"/usr/lib/python3*/EXTERNALLY-MANAGED
    # The build reaches PyPI the way this machine does; where that is through a TLS-inspecting
    # proxy, the image must trust the same locally added CAs (pip reads the system bundle, uv
    # reads it through SSL_CERT_FILE).
    if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
        cp /usr/local/share/ca-certificates/*.crt "$ROOTFS/usr/local/share/ca-certificates/"
        chroot "$ROOTFS" update-ca-certificates >/dev/null 2>&1
    fi
    chroot "$ROOTFS" apt-get clean
    rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/*.bin
    tar -C "$ROOTFS" -c . | docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
        --change 'CMD ["bash"]' - "$BASE_IMAGE" >/dev/null
    rm -rf "$ROOTFS"
    echo "made $BASE_IMAGE in $((SECONDS - t)) s ($(docker run --rm --network=none "$BASE_IMAGE" python3 --version))"
else
    die "base image $BASE_IMAGE is not in $DOCKER_ROOT"
fi

# --- 5. the image ---------------------------------------------------------------------------
step "preparing the build context (the Bento, FROM $BASE_IMAGE, CPU torch wheel)"
# Only the base image differs from what `bentoml containerize` would build.
sed -i "0,/^FROM $(printf '%s' "$GENERATED_BASE" | sed 's/[.[\*^$/]/\\&/g') /s//FROM $BASE_IMAGE /" \
    "$DOCKERFILE"
grep -n '^FROM' "$DOCKERFILE"
grep -q -- '--mount=' "$DOCKERFILE" && die "the generated Dockerfile needs BuildKit (--mount)"
# And uv overrides for the Dockerfile's `uv pip install -r requirements.txt` (UV_OVERRIDE, set
# just before it): torch==2.13.0 would resolve to PyPI's multi-GB CUDA build, so torch comes from
# the CPU wheel, served to the build from loopback (the build runs with host networking) rather
# than copied into the context, where both of the Dockerfile's COPY steps would keep a copy; and
# triton (1 GB, pulled in by openai-whisper, GPU kernels only) is left out.
WHEEL_NAME=$(basename "$TORCH_WHEEL")
mkdir -p "$WORK/wheels"
ln -s "$TORCH_WHEEL" "$WORK/wheels/$WHEEL_NAME"
WHEEL_PORT=$(free_port)
"$PY" -m http.server --bind 127.0.0.1 --directory "$WORK/wheels" "$WHEEL_PORT" >"$WORK/wheels.log" 2>&1 &
WHEEL_SERVER_PID=$!
WHEEL_URL=http://127.0.0.1:$WHEEL_PORT/$WHEEL_NAME
for _ in $(seq 20); do curl -sf -m 2 -o /dev/null -I "$WHEEL_URL" && break; sleep 0.5; done
curl -sf -m 2 -o /dev/null -I "$WHEEL_URL" || die "the wheel server does not answer"
IMAGE_BENTO_PATH=$(sed -n 's/^ARG BENTO_PATH=//p' "$DOCKERFILE")
printf '%s\n' "torch @ $WHEEL_URL" 'triton ; sys_platform == "never"' >"$CTX/env/python/overrides.txt"
# ARG, not ENV: a build argument is set for the build's RUN steps and is not kept in the image,
# which must not point at a build-time package source.
sed -i "\|^COPY .* ./env/python ./env/python/\$|a ARG UV_OVERRIDE=$IMAGE_BENTO_PATH/env/python/overrides.txt" \
    "$DOCKERFILE"
grep -n -A1 '^COPY .* ./env/python ' "$DOCKERFILE"
grep -q '^ARG UV_OVERRIDE=' "$DOCKERFILE" || die "could not set UV_OVERRIDE in the Dockerfile"
# The build host's CAs (copied into the base image for a TLS-inspecting proxy) are dropped once
# the packages are installed: the image must not trust the machine it was built on.
sed -i '0,/^USER bentoml$/s//RUN rm -f \/usr\/local\/share\/ca-certificates\/*.crt \&\& update-ca-certificates --fresh >\/dev\/null\n&/' \
    "$DOCKERFILE"
grep -q '^RUN rm -f /usr/local/share/ca-certificates' "$DOCKERFILE" || die "could not drop the build CAs"

step "docker build -t $IMAGE (classic builder, --network=host)"
t=$SECONDS
set +e  # the build's full log goes to build.log; its steps are shown as they start
docker build --network=host --rm --force-rm -t "$IMAGE" -f "$DOCKERFILE" "$CTX" 2>&1 \
    | tee "$WORK/build.log" | grep --line-buffered -E '^Step |^Successfully'
build_rc=${PIPESTATUS[0]}
set -e
[ "$build_rc" -eq 0 ] || { tail -40 "$WORK/build.log"; die "docker build failed"; }
kill "$WHEEL_SERVER_PID"
wait "$WHEEL_SERVER_PID" 2>/dev/null || true
WHEEL_SERVER_PID=""
BUILD_S=$((SECONDS - t))
IMAGE_BUILT=1
IMAGE_BYTES=$(docker image inspect -f '{{.Size}}' "$IMAGE")
echo "built $IMAGE in ${BUILD_S} s, $((IMAGE_BYTES / 1000000)) MB"
docker run --rm --network=none --entrypoint bash "$IMAGE" -c 'echo "models: $(ls $BENTO_PATH/models)";
    echo "sizes: $(du -sh /app/.venv $BENTO_PATH/models | tr "\n\t" ", ")";
    python -c "import importlib.util as u, torch; print(\"torch\", torch.__version__, \"triton:\", u.find_spec(\"triton\"))";
    echo "user: $(id -un); build CAs left: $(ls /usr/local/share/ca-certificates | grep -c crt);";
    echo "mirror or override variables: $(env | grep -ciE "uv_override|pip_index|mirror")"' \
    | tr '\n' ' '
echo

# --- 6. run, wait, ask ----------------------------------------------------------------------
PORT=$(free_port)
step "docker run --network=host (bentoml serve on 127.0.0.1:$PORT)"
t=$SECONDS
start_ns=$(date +%s%N)
# The server requires an API key: a fresh one for this run, only its hash given to the container.
API_KEY=$("$PY" -c 'from triage.security.keys import new_key; print(new_key())')
KEY_HASH=$(printf '%s\n' "$API_KEY" | "$PY" -m triage.security.keys hash | sed 's/^NAME:/smoke:/')
CONTAINER=$(docker run -d --network=host --name "triage-smoke-$$" -e "TRIAGE_API_KEY_HASHES=$KEY_HASH" "$IMAGE" \
    serve --host 127.0.0.1 --port "$PORT")
# -m: a request made while the server's workers are still loading can hang; ask again instead.
until curl -sf -m 3 -o /dev/null "http://127.0.0.1:$PORT/readyz"; do
    [ "$(docker inspect -f '{{.State.Running}}' "$CONTAINER")" = true ] || die "the container exited"
    [ $((SECONDS - t)) -lt "$READY_TIMEOUT" ] || die "not ready after $READY_TIMEOUT s"
    sleep 0.5
done
READY_S=$("$PY" -c "print(f'{($(date +%s%N) - $start_ns) / 1e9:.1f}')")
echo "ready ${READY_S} s after docker run"

step "POST /analyze with $(basename "$CLIP")"
t=$SECONDS
AUTH="Authorization: Bearer $API_KEY"
ANSWER=$(curl -sS -m 300 -H "$AUTH" -F "file=@$CLIP" "http://127.0.0.1:$PORT/analyze")
ANALYZE_S=$((SECONDS - t))
# Once more: the first call pays one-off costs (numba compiling librosa on a fresh container).
ANALYZE2_S=$(curl -sS -m 300 -o /dev/null -w '%{time_total}' -H "$AUTH" -F "file=@$CLIP" \
    "http://127.0.0.1:$PORT/analyze")
printf '%s' "$ANSWER" | "$PY" -c '
import json, sys
answer = json.load(sys.stdin)
decision = answer.get("decision")
assert isinstance(decision, dict), f"no decision in {answer}"
assert isinstance(decision.get("is_emergency"), bool), f"is_emergency is not a boolean: {decision}"
print(json.dumps(answer, ensure_ascii=False))
' || die "unexpected /analyze answer: $ANSWER"

# --- 7. (--topology) one container per service, as deploy/compose.yaml runs them --------------
if [ "$TOPOLOGY" = 1 ]; then
    docker rm -f "$CONTAINER" >/dev/null 2>&1
    CONTAINER=""
    # Every service from the one image: `bentoml serve <module>:<Class>` in the Bento's source
    # folder, the Bento's models as the model store (BENTOML_HOME), each on its own loopback port.
    serve_in() { # name target port [docker run options...]
        local name=$1 target=$2 port=$3
        shift 3
        docker run -d --network=host --name "triage-smoke-$$-$name" -e BENTOML_HOME="$IMAGE_BENTO_PATH" \
            "$@" "$IMAGE" bentoml serve "$target" --working-dir "$IMAGE_BENTO_PATH/src" \
            --host 127.0.0.1 --port "$port"
    }
    wait_ready() { # url container
        until curl -sf -m 3 -o /dev/null "$1/readyz"; do
            [ "$(docker inspect -f '{{.State.Running}}' "$2")" = true ] || die "$2 exited"
            [ $((SECONDS - t)) -lt "$READY_TIMEOUT" ] || die "$2 not ready after $READY_TIMEOUT s"
            sleep 0.5
        done
    }
    step "topology: four runner containers and the API wired by URL"
    t=$SECONDS
    URLS=()
    for pair in whisper=runners.whisper:Whisper corrector=runners.corrector:Corrector \
        text_classifier=runners.text_classifier:TextClassifier \
        audio_classifier=runners.audio_classifier:AudioClassifier; do
        name=${pair%%=*}
        port=$(free_port)
        TOPO_CONTAINERS+=("$(serve_in "$name" "${pair#*=}" "$port")")
        URLS+=(-e "TRIAGE_${name^^}_URL=http://127.0.0.1:$port")
    done
    API_PORT=$(free_port)
    TOPO_CONTAINERS+=("$(serve_in api service:Triage "$API_PORT" "${URLS[@]}")")
    API=http://127.0.0.1:$API_PORT
    wait_ready "$API" "triage-smoke-$$-api"  # ready only once every runner answers its /readyz
    TOPO_READY_S=$((SECONDS - t))
    echo "five containers up, API ready ${TOPO_READY_S} s after the first docker run"
    TOPO_ANSWER=$(curl -sS -m 300 -F "file=@$CLIP" "$API/analyze")
    printf '%s' "$TOPO_ANSWER" | "$PY" -c 'import json, sys; assert isinstance(json.load(sys.stdin)["decision"]["is_emergency"], bool)' \
        || die "unexpected /analyze answer by URL: $TOPO_ANSWER"

    step "docker kill the text classifier's container"
    docker kill "triage-smoke-$$-text_classifier" >/dev/null
    REFUSED=$(curl -sS -m 120 -o /dev/null -w '%{http_code}' -F "file=@$CLIP" "$API/analyze")
    READYZ=$(curl -sS -m 30 -o /dev/null -w '%{http_code}' "$API/readyz")
    echo "/analyze -> $REFUSED, /readyz -> $READYZ"
    [ "$REFUSED" = 503 ] && [ "$READYZ" = 503 ] || die "expected 503 from /analyze and /readyz"
    step "docker start it again"
    t=$SECONDS
    docker start "triage-smoke-$$-text_classifier" >/dev/null
    wait_ready "$API" "triage-smoke-$$-api"
    RESTART_S=$((SECONDS - t))
    SERVED=$(curl -sS -m 300 -o /dev/null -w '%{http_code}' -F "file=@$CLIP" "$API/analyze")
    [ "$SERVED" = 200 ] || die "/analyze after the restart answered $SERVED"
    echo "API ready again ${RESTART_S} s after docker start; /analyze -> 200"
fi

step "figures"
printf '  image:            %s (%s MB, %s)\n' "$IMAGE" "$((IMAGE_BYTES / 1000000))" "$BENTO_TAG"
printf '  base image:       %s\n' "$BASE_IMAGE"
printf '  docker build:     %s s\n' "$BUILD_S"
printf '  run -> /readyz:   %s s\n' "$READY_S"
LC_ALL=C printf '  first /analyze:   %s s (second: %.1f s)\n' "$ANALYZE_S" "$ANALYZE2_S"
printf '  is_emergency:     %s\n' "$(printf '%s' "$ANSWER" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["decision"]["is_emergency"])')"
if [ "$TOPOLOGY" = 1 ]; then
    printf '  topology ready:   %s s (five containers, API wired by URL)\n' "$TOPO_READY_S"
    printf '  runner restart:   %s s from docker start to the API ready again\n' "$RESTART_S"
fi
printf '  whole script:     %s s\n' "$((SECONDS - T0))"
echo "container smoke test passed"
exit 0
}
