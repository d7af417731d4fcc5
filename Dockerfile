# Container images of s3proxy (the default target, `proxy`) and of the SSO mock
# (target `sso-mock`, for the compose stack). `cargo xtask build --image` builds both;
# by hand:
#   docker build -t s3proxy .
#   docker build --target sso-mock -t sso-mock .
# No `# syntax=` line: BuildKit would pull that frontend from Docker Hub, which an
# offline build cannot.

# Bookworm, like the runtime image below: a binary built against a newer glibc would
# not start there.
ARG RUST_IMAGE=rust:1.95-slim-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot
# Where the binaries come from: the `builder` stage below, or an image holding
# /out/s3proxy and /out/sso-mock, as that stage leaves them. `cargo xtask build --image
# --offline` passes one made from binaries built on the host, with a RUNTIME_IMAGE made
# of the host's Debian 12 files; the stages it does not need (the Rust image's) are
# skipped, so nothing is pulled.
ARG BINARIES=builder

# cargo-chef (from crates.io) reduces the workspace to its manifests and lock file, so
# the dependencies build in a layer of their own, rebuilt only when those change.
FROM ${RUST_IMAGE} AS chef
RUN cargo install cargo-chef --locked --version 0.1.78
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release --locked --recipe-path recipe.json -p s3proxy -p sso-mock
COPY . .
# Without the release profile's line tables (three quarters of the binary, they would
# triple the image); the symbols stay, so panics still name their functions.
RUN cargo build --release --locked -p s3proxy -p sso-mock --bins \
    && mkdir -p /out \
    && cp target/release/s3proxy target/release/sso-mock /out/ \
    && strip --strip-debug /out/s3proxy /out/sso-mock

FROM ${BINARIES} AS binaries

# The SSO mock, for local stacks only: never deploy it.
FROM ${RUNTIME_IMAGE} AS sso-mock
COPY --from=binaries /out/sso-mock /usr/local/bin/sso-mock
USER nonroot
EXPOSE 8081
ENTRYPOINT ["/usr/local/bin/sso-mock"]
CMD ["--bind", "0.0.0.0", "--port", "8081"]

# The proxy: only the binary, on a distroless base (glibc, CA certificates, no shell),
# as a non-root user; it writes no file. Last, so that it is what a plain `docker build`
# makes. Health check: `s3proxy healthcheck` (docs/operations.md).
FROM ${RUNTIME_IMAGE} AS proxy
COPY --from=binaries /out/s3proxy /usr/local/bin/s3proxy
USER nonroot
ENV PORT=8000
EXPOSE 8000
ENTRYPOINT ["/usr/local/bin/s3proxy"]
