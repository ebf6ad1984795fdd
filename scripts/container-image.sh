#!/usr/bin/env bash
# Builds Lantern's runtime image around a binary built on this host, with podman and no image registry:
# the Debian base the Dockerfile names is made with debootstrap (from Debian's package mirror) and imported
# under that name, then the Dockerfile's runtime stage is built with the binary as its `prebuilt` stage.
#
#   scripts/container-image.sh BINARY [TAG]      TAG defaults to localhost/lantern:dev
#
# Prints the image's size in bytes as its last line (`size_bytes=<n>`). Needs root, podman, runc and
# debootstrap (scripts/services.sh installs them). The base is cached in $LANTERN_CONTAINER_CACHE
# (default ~/.cache/lantern-container), so only the first run downloads it.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
binary="${1:?usage: scripts/container-image.sh BINARY [TAG]}"
tag="${2:-localhost/lantern:dev}"
[ -x "$binary" ] || { echo "container-image.sh: $binary is not an executable file" >&2; exit 2; }
cache="${LANTERN_CONTAINER_CACHE:-$HOME/.cache/lantern-container}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
base=docker.io/library/debian:bookworm-slim
mkdir -p "$cache"

# No systemd and no ulimit changes inside this sandbox: cgroupfs, and the host's limits as they are.
if [ -z "${CONTAINERS_CONF:-}" ]; then
  export CONTAINERS_CONF="$cache/containers.conf"
  printf '[containers]\ndefault_ulimits = []\n\n[engine]\ncgroup_manager = "cgroupfs"\n' > "$CONTAINERS_CONF"
fi
podman=(podman --runtime runc)

if ! "${podman[@]}" image exists "$base"; then
  if [ ! -s "$cache/bookworm-slim.tar" ]; then
    echo "container-image.sh: making the Debian bookworm base with debootstrap (once)" >&2
    root="$cache/rootfs.tmp"
    rm -rf "$root"
    debootstrap --variant=minbase bookworm "$root" "$mirror" > "$cache/debootstrap.log" 2>&1 \
      || { echo "container-image.sh: debootstrap failed, see $cache/debootstrap.log" >&2; exit 1; }
    # As Debian's slim images: no documentation now or from later installs, no package lists or archives.
    printf 'path-exclude /usr/share/doc/*\npath-include /usr/share/doc/*/copyright\npath-exclude /usr/share/man/*\npath-exclude /usr/share/info/*\npath-exclude /usr/share/locale/*\npath-include /usr/share/locale/locale.alias\n' \
      > "$root/etc/dpkg/dpkg.cfg.d/slim"
    find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
    rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/var/lib/apt/lists/* \
      "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin
    find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
    tar -C "$root" -cf "$cache/bookworm-slim.tar.tmp" .
    mv "$cache/bookworm-slim.tar.tmp" "$cache/bookworm-slim.tar"
    rm -rf "$root"
  fi
  "${podman[@]}" import --change 'CMD ["bash"]' "$cache/bookworm-slim.tar" "$base" > /dev/null
fi

# A build context of its own: the binary (debug info stripped, symbols kept for backtraces) and the specs.
context="$(mktemp -d)"
trap 'rm -rf "$context"' EXIT
strip --strip-debug -o "$context/lantern" "$binary"
cp -r "$repo/datasets" "$repo/dashboards" "$context/"
# The image this tag named before, removed once replaced (its layers below the binary stay cached).
previous="$("${podman[@]}" image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)"
# `docker` format: OCI images have no HEALTHCHECK.
"${podman[@]}" build --isolation chroot --pull=never --format docker --build-arg BINARY=prebuilt \
  -f "$repo/Dockerfile" -t "$tag" "$context" >&2
current="$("${podman[@]}" image inspect --format '{{.Id}}' "$tag")"
if [ -n "$previous" ] && [ "$previous" != "$current" ]; then
  "${podman[@]}" rmi "$previous" > /dev/null 2>&1 || true
fi
echo "size_bytes=$("${podman[@]}" image inspect --format '{{.Size}}' "$tag")"
