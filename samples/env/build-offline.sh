#!/usr/bin/env bash
# Builds the churn sample's environment image without Docker Hub: a minimal Debian bookworm root file
# system from Debian's mirror (debootstrap) with Python 3 and scikit-learn from Debian's packages,
# imported with `docker import`. This is the offline twin of samples/env/Dockerfile.
# Usage: build-offline.sh IMAGE_REF [CACHE_DIR]
set -euo pipefail
IMAGE=${1:?usage: build-offline.sh IMAGE_REF [CACHE_DIR]}
CACHE=${2:-$HOME/.cache/timemachine}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
TARBALL=$CACHE/churn-env-rootfs.tar
log() { printf '[build-offline %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
mkdir -p "$CACHE"

if [ ! -s "$TARBALL" ]; then
  WORK=$(mktemp -d /var/tmp/churn-env.XXXXXX)
  ROOTFS=$WORK/rootfs
  trap 'umount "$ROOTFS/proc" 2>/dev/null || true; rm -rf "$WORK"' EXIT
  log "debootstrap bookworm (minbase) into $ROOTFS"
  debootstrap --variant=minbase bookworm "$ROOTFS" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
    || { tail -20 "$WORK/debootstrap.log" >&2; exit 1; }

  # python3-scipy hard-depends on python3-pythran, which drags in gcc and boost (~500 MB) but is only
  # needed to compile scipy extensions. An empty stand-in package keeps the image half the size.
  mkdir -p "$WORK/pythran-stub/DEBIAN"
  cat >"$WORK/pythran-stub/DEBIAN/control" <<CTL
Package: python3-pythran
Version: 0.11.0+ds-7+timemachine1
Architecture: all
Maintainer: timemachine <noreply@localhost>
Description: empty stand-in; pythran is only needed to build scipy extensions
CTL
  dpkg-deb --build "$WORK/pythran-stub" "$ROOTFS/tmp/pythran-stub.deb" >/dev/null
  log "installing python3, scikit-learn, pandas from Debian"
  mount -t proc proc "$ROOTFS/proc"
  chroot "$ROOTFS" dpkg -i /tmp/pythran-stub.deb >/dev/null
  chroot "$ROOTFS" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    python3 python3-sklearn python3-pandas >"$WORK/apt.log" 2>&1 || { tail -20 "$WORK/apt.log" >&2; exit 1; }
  chroot "$ROOTFS" apt-get clean
  umount "$ROOTFS/proc"
  rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/tmp/* "$ROOTFS"/var/cache/apt/*.bin
  log "packing root file system"
  tar --numeric-owner -C "$ROOTFS" -cf "$TARBALL.partial" .
  mv "$TARBALL.partial" "$TARBALL"
fi

log "docker import -> $IMAGE"
docker import -c 'ENV LANG=C.UTF-8' -c 'ENV PYTHONDONTWRITEBYTECODE=1' -c 'CMD ["python3"]' \
  "$TARBALL" "$IMAGE" >/dev/null
docker image inspect --format '{{.Id}} {{.Size}}' "$IMAGE" >&2
