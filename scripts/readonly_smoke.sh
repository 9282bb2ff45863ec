#!/bin/bash
# Serve the built Bento the way `docker run --read-only --tmpfs /tmp` would, without Docker:
# a private mount namespace (unshare -m, needs root) with the root file system remounted
# read-only and a tmpfs on /tmp, the Bento's build context (models copied in, as
# `bentoml containerize` makes it) as BENTO_PATH, and the environment docs/SECURITY.md gives.
# Then /readyz, an authenticated /classify/text and /analyze, and a keyless call (401).
#
#   sudo scripts/readonly_smoke.sh [STORE]    # STORE: a model store (default: $BENTOML_HOME)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
STORE=${1:-${BENTOML_HOME:?give a model store}}
PY=$REPO/.venv/bin/python
WORK=$(mktemp -d /var/tmp/triage-ro.XXXXXX)   # not under /tmp: that becomes an empty tmpfs
trap 'rm -rf "$WORK"' EXIT
cp -a "$STORE" "$WORK/store"
cd "$REPO"
TAG=$(BENTOML_HOME=$WORK/store "$REPO/.venv/bin/bentoml" build --output tag | grep -o "__tag__:.*" | cut -d: -f2-)
BENTOML_HOME=$WORK/store "$PY" - "$TAG" "$WORK/bento" <<'PYEOF'
import shutil, sys
import bentoml
from bentoml._internal.container import construct_containerfile
with construct_containerfile(bentoml.bentos.get(sys.argv[1]), enable_buildkit=False) as (ctx, _):
    shutil.copytree(ctx, sys.argv[2], symlinks=True)
PYEOF
KEY=tk_ro_$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
CLIP=$("$PY" -c "from harness.shared_audio import SPEECH_DIR; print(sorted(SPEECH_DIR.glob('*.wav'))[0])")
unshare -m bash -s "$WORK/bento" "$KEY" "$CLIP" "$REPO/.venv/bin/bentoml" <<'SHEOF'
set -u
BENTO=$1 KEY=$2 CLIP=$3 BENTOML=$4
mount --make-rprivate /
mount -o remount,bind,ro /
cp "$CLIP" /dev/shm/ro-clip.wav   # /tmp is about to be hidden
mount -t tmpfs -o size=256m,nosuid,nodev tmpfs /tmp
touch /ro-probe 2>/dev/null && { echo "FAIL: the root file system is writable"; exit 1; }
echo "root file system read-only; tmpfs on /tmp"
export BENTO_PATH=$BENTO BENTOML_CONTAINERIZED=true BENTOML_HF_CACHE_DIR=$BENTO/hf-models
export BENTOML_HOME=/tmp/bentoml NUMBA_CACHE_DIR=/tmp/numba   # the two settings a read-only image needs
export TRIAGE_API_KEY_HASHES="ro:$(echo -n "$KEY" | sha256sum | cut -d' ' -f1)" TRIAGE_AUDIT_LOG=/tmp/audit.jsonl
cd "$BENTO"
"$BENTOML" serve "$BENTO" --port 3917 > /tmp/serve.log 2>&1 &
for i in $(seq 1 150); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' localhost:3917/readyz)" = 200 ] && break
    kill -0 $! 2>/dev/null || break; sleep 2
done
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
READY=$(code localhost:3917/readyz)
TEXT=$(code -X POST localhost:3917/classify/text -H "Authorization: Bearer $KEY" -H 'content-type: application/json' -d '{"sentences":["불이 났어요 빨리 와 주세요"]}')
CLIPCODE=$(code -X POST localhost:3917/analyze -H "Authorization: Bearer $KEY" -F file=@/dev/shm/ro-clip.wav)
NOKEY=$(code -X POST localhost:3917/classify/text -H 'content-type: application/json' -d '{"sentences":["안녕"]}')
echo "readyz $READY after ~$((i * 2)) s; /classify/text $TEXT; /analyze $CLIPCODE; without a key $NOKEY"
echo "audit lines: $(wc -l < /tmp/audit.jsonl); tmpfs used: $(du -sh /tmp | cut -f1)"
grep -E "Read-only file system|Traceback" /tmp/serve.log | head -5 || true
kill $! 2>/dev/null; sleep 3; rm -f /dev/shm/ro-clip.wav
[ "$READY$TEXT$CLIPCODE$NOKEY" = "200200200401" ] && echo "PASS" || { echo "FAIL"; exit 1; }
SHEOF
