#!/usr/bin/env bash
# Builds an environment image for a project that logs with MLflow, without Docker Hub and without any
# network inside the build: FROM the churn sample's offline image (Debian bookworm's python3,
# scikit-learn, pandas, numpy; samples/env/build-offline.sh), plus mlflow-skinny from PyPI wheels that
# are downloaded on the host first (`pip download`) and installed inside `docker build --network none`
# with `pip install --no-index --find-links`. A constraints file pins every Python distribution the base
# image already has (read from the image itself), so pip keeps Debian's numpy, scipy, pandas and
# scikit-learn instead of replacing them; the build fails if mlflow-skinny would need other versions.
# Usage: build-mlflow-image.sh IMAGE_REF [BASE_IMAGE] [CACHE_DIR]
# Environment: MLFLOW_SKINNY_VERSION (3.17.2), EXTRA_PIP_PACKAGES (e.g. "skops==0.13.0"), PIP (python3 -m pip).
set -euo pipefail
IMAGE=${1:?usage: build-mlflow-image.sh IMAGE_REF [BASE_IMAGE] [CACHE_DIR]}
BASE=${2:-127.0.0.1:5000/timemachine/churn-env:bookworm}
CACHE=${3:-$HOME/.cache/timemachine}
MLFLOW_SKINNY_VERSION=${MLFLOW_SKINNY_VERSION:-3.17.2}
# pip itself, run from its wheel inside the build: Debian's python3 has no pip (python3-pip would need apt and network).
PIP_VERSION=${PIP_VERSION:-24.3.1}
read -r -a PIP_CMD <<<"${PIP:-python3 -m pip}"
log() { printf '[build-mlflow-image %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
start=$SECONDS

docker image inspect "$BASE" >/dev/null 2>&1 || docker pull "$BASE" >/dev/null \
  || die "base image $BASE is neither local nor pullable: build it with samples/env/build-offline.sh (scripts/services.sh up does)"

CTX=$(mktemp -d /var/tmp/mlflow-env.XXXXXX)
trap 'rm -rf "$CTX"' EXIT
mkdir -p "$CTX/wheels"

# The wheels are for the image's interpreter, which may differ from the host's: ask the image.
read -r PYVER PLATFORM < <(docker run --rm --network none "$BASE" python3 -c \
  'import sys, sysconfig; print(f"{sys.version_info[0]}.{sys.version_info[1]}", sysconfig.get_platform().replace("-", "_"))')
docker run --rm --network none "$BASE" python3 -c \
  'import importlib.metadata as m; print("\n".join(sorted(d.metadata["Name"] + "==" + d.version for d in m.distributions())))' \
  >"$CTX/constraints.txt"
log "base $BASE: python $PYVER on $PLATFORM; pinned to what it has: $(tr '\n' ' ' <"$CTX/constraints.txt")"

WHEELS=$CACHE/mlflow-wheels-$MLFLOW_SKINNY_VERSION-py$PYVER
mkdir -p "$WHEELS"
log "pip download mlflow-skinny==$MLFLOW_SKINNY_VERSION ${EXTRA_PIP_PACKAGES:-} pip==$PIP_VERSION into $WHEELS"
# Binary wheels only, for the image's Python and glibc (bookworm: glibc 2.36, so manylinux up to 2_36).
platforms=()
for glibc in 36 35 34 33 32 31 30 29 28 27 26 25 24 23 22 21 20 19 18 17; do
  platforms+=(--platform "manylinux_2_${glibc}_${PLATFORM#linux_}")
done
platforms+=(--platform "manylinux2014_${PLATFORM#linux_}" --platform "$PLATFORM")
# shellcheck disable=SC2086
"${PIP_CMD[@]}" download --quiet --disable-pip-version-check --dest "$WHEELS" --only-binary=:all: \
  --python-version "$PYVER" --implementation cp "${platforms[@]}" -c "$CTX/constraints.txt" \
  "mlflow-skinny==$MLFLOW_SKINNY_VERSION" ${EXTRA_PIP_PACKAGES:-} "pip==$PIP_VERSION" >"$CTX/download.log" 2>&1 \
  || { tail -20 "$CTX/download.log" >&2; die "pip download failed"; }
cp "$WHEELS"/*.whl "$CTX/wheels/"
log "$(ls "$CTX/wheels" | wc -l) wheels, $(du -sh "$CTX/wheels" | cut -f1)"

cat >"$CTX/Dockerfile" <<DOCKERFILE
FROM $BASE
COPY wheels /tmp/wheels
COPY constraints.txt /tmp/constraints.txt
# pip from its own wheel; --break-system-packages because Debian marks its python3 externally managed
# (pip then installs into /usr/local, beside Debian's /usr/lib/python3/dist-packages, and the
# constraints keep it from touching the Debian packages).
RUN python3 /tmp/wheels/pip-$PIP_VERSION-py3-none-any.whl/pip install --no-index --find-links /tmp/wheels \\
      --no-cache-dir --break-system-packages --no-compile --disable-pip-version-check -c /tmp/constraints.txt \\
      "mlflow-skinny==$MLFLOW_SKINNY_VERSION" ${EXTRA_PIP_PACKAGES:-} \\
 && ln -sf /usr/bin/python3 /usr/local/bin/python \\
 && rm -rf /tmp/wheels /tmp/constraints.txt
# MLflow imports GitPython, which warns on every run when no git binary is installed (none is, on purpose);
# no telemetry leaves a training container (it has no network anyway).
ENV GIT_PYTHON_REFRESH=quiet MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true
DOCKERFILE

log "docker build --network none -t $IMAGE"
docker build --network none -q -t "$IMAGE" "$CTX" >"$CTX/build.log" 2>&1 || { tail -30 "$CTX/build.log" >&2; die "docker build failed"; }

log "checking: mlflow imports, numpy is still Debian's, no network needed"
docker run --rm --network none "$IMAGE" python -c '
import mlflow, sklearn, numpy, pandas, scipy
assert numpy.__file__.startswith("/usr/lib/python3/dist-packages/"), "numpy was replaced: " + numpy.__file__
print("mlflow", mlflow.__version__, "sklearn", sklearn.__version__, "numpy", numpy.__version__, numpy.__file__, "pandas", pandas.__version__)' >&2
log "built $IMAGE in $((SECONDS - start)) s: $(docker image inspect --format '{{.Id}} {{.Size}} bytes' "$IMAGE")"
log "pin it: docker push $IMAGE && docker inspect --format '{{index .RepoDigests 0}}' $IMAGE"
