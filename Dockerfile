# civcas-server in a slim image. Build with `docker build -t civcas .`; run it with a database given by
# DATABASE_URL (see docker-compose.yml): the image carries no PostgreSQL of its own.

# cargo-chef caches the dependency build in its own layer, so a change to civcas's code rebuilds only
# civcas. The rust image's toolchain matches rust-toolchain.toml, so rustup downloads nothing.
FROM rust:1.95.0-slim-bookworm AS chef
RUN cargo install cargo-chef --locked --version 0.1.78
WORKDIR /app

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /app/recipe.json recipe.json
RUN cargo chef cook --release --recipe-path recipe.json --package civcas-server
COPY . .
RUN cargo build --release --package civcas-server --bin civcas-server

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin civcas
WORKDIR /app
COPY --from=builder /app/target/release/civcas-server /usr/local/bin/civcas-server
COPY config ./config
USER civcas
ENV CIVCAS_ENV=production
EXPOSE 50051 9464
STOPSIGNAL SIGTERM
# grpc_health_probe cannot be fetched here; the binary asks the gRPC health service itself.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["civcas-server", "healthcheck"]
ENTRYPOINT ["civcas-server"]
CMD ["serve"]
