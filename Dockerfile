# syntax=docker/dockerfile:1
# One image for every binary of the workspace; docker-compose.yml picks the service by its
# command (no ENTRYPOINT is tied to one service).
#
# cargo-chef splits the build in two: the dependencies are cooked from a recipe (cached as long
# as Cargo.toml/Cargo.lock do not change), then the workspace's own crates are built.

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm

FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS chef
ARG CHEF_VERSION=0.1.71
# rdkafka-sys builds librdkafka from source with its ./configure (the default features here:
# tokio + libz, no ssl/sasl/curl/zstd); its Makefile runs a python3 script for the linker map.
# aws-lc-sys (rustls) and mimalloc are built by cc; cmake is the fallback aws-lc-sys may use.
# Package versions follow the pinned Debian release rather than being pinned one by one.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        build-essential cmake pkg-config python3 zlib1g-dev \
    && rm -rf /var/lib/apt/lists/*
RUN cargo install cargo-chef --locked --version "${CHEF_VERSION}"
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release --workspace --bins --recipe-path recipe.json
COPY . .
RUN cargo build --release --workspace --bins \
    && mkdir -p /out \
    && cp target/release/schema-registry target/release/order-svc target/release/payment-svc \
          target/release/shipping-svc target/release/order-history target/release/composer \
          target/release/web target/release/stack target/release/compare /out/

FROM debian:${DEBIAN_RELEASE}-slim AS runtime
# ca-certificates for TLS clients, curl for the compose healthchecks
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /data --shell /usr/sbin/nologin app \
    && mkdir -p /data/order-history /report \
    && chown -R app:app /data /report
COPY --from=builder /out/ /usr/local/bin/
USER 10001:10001
WORKDIR /data
# no ENTRYPOINT: the command names the binary, e.g. `order-svc` or `stack init`
CMD ["order-svc", "--help"]
