# syntax=docker/dockerfile:1
#
# Lantern as a container: `docker build -t lantern .` compiles the binary in a Rust builder stage and copies it
# into a slim Debian runtime. `--build-arg BINARY=prebuilt` takes a binary built on the host instead
# (`lantern` at the root of the build context): scripts/container-image.sh does that where no registry is
# reachable. Configuration is by environment (LANTERN_*, see the README); /data is the local store.

# Which stage provides /lantern: `build` (compiled here) or `prebuilt` (from the build context).
ARG BINARY=build
# The runtime base. Built from the same Debian release as the builder, so the binary finds the libraries it
# was linked against.
ARG DEBIAN=docker.io/library/debian:bookworm-slim

FROM docker.io/library/rust:1.95-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libxmlsec1-dev libxml2-dev pkg-config libclang-dev clang \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# Cache mounts keep the registry and compiled dependencies between builds: a source change recompiles
# Lantern's own crates only. The binary is copied out because the target folder is a cache, not a layer.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin lantern \
 && cp target/release/lantern /lantern

FROM scratch AS prebuilt
COPY lantern /lantern

FROM ${BINARY} AS binary

FROM ${DEBIAN} AS runtime
# Only what the binary links against dynamically (xmlsec for SAML signatures) and the CA roots for HTTPS
# sources, S3 and identity providers.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libxmlsec1-openssl \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/*
RUN useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin lantern \
 && mkdir -p /data /srv/lantern \
 && chown lantern:lantern /data
COPY --from=binary /lantern /usr/local/bin/lantern
# The demo's specs, as a starting point: mount your own over /srv/lantern/datasets and /srv/lantern/dashboards.
COPY datasets /srv/lantern/datasets
COPY dashboards /srv/lantern/dashboards
WORKDIR /srv/lantern
ENV LANTERN_HOST=0.0.0.0 \
    LANTERN_PORT=8050 \
    LANTERN_STORAGE_URL=/data \
    LANTERN_LOG_FORMAT=json
USER lantern:lantern
VOLUME ["/data"]
EXPOSE 8050
# Liveness through the binary itself: the image carries no curl.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 CMD ["lantern", "healthcheck"]
# SIGTERM drains (server.drain_secs, server.shutdown_timeout_secs) before the process exits.
STOPSIGNAL SIGTERM
ENTRYPOINT ["lantern"]
CMD ["serve"]
