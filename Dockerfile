# The embedded mode (local storage, SQLite) of zoom-archiver as a container image.
#
#   docker build -t zoom-archiver .        (or: podman build -t zoom-archiver .)
#   docker run -d --name zoom-archiver --stop-timeout 45 \
#     -v /srv/zoom-archiver/config.toml:/etc/zoom-archiver/config.toml:ro \
#     -v zoom-archiver-data:/var/lib/zoom-archiver \
#     zoom-archiver
#
# The configuration's `[storage] data_dir` must be /var/lib/zoom-archiver (the volume).
# For /metrics and /healthz add `--listen 0.0.0.0:9464` to the command and publish the
# port. `run` stops gracefully on SIGTERM within its `--grace` (30 s by default): give
# `docker stop` / the orchestrator a longer timeout than that (45 s above).

FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY . .
# The registry and target directories are BuildKit cache mounts: rebuilds after a source
# change reuse the compiled dependencies. The binary is copied out of the cache.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release -p zoom-archiver --locked \
    && install -m 0755 target/release/zoom-archiver /usr/local/bin/zoom-archiver

FROM debian:bookworm-slim
# ca-certificates: Zoom's and AWS's TLS certificates. Debian's current security-updated
# package is wanted, not a pinned version.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 zoom-archiver \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/zoom-archiver \
       --no-create-home --shell /usr/sbin/nologin zoom-archiver \
    && install -d -o 10001 -g 10001 -m 0750 /var/lib/zoom-archiver \
    && install -d -m 0755 /etc/zoom-archiver
COPY --from=build /usr/local/bin/zoom-archiver /usr/local/bin/zoom-archiver
USER 10001:10001
WORKDIR /var/lib/zoom-archiver
VOLUME /var/lib/zoom-archiver
STOPSIGNAL SIGTERM
ENTRYPOINT ["zoom-archiver"]
CMD ["--config", "/etc/zoom-archiver/config.toml", "run"]
