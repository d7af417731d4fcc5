# syntax=docker/dockerfile:1
#
# Container images of s3proxy (the default target, `proxy`) and of the SSO mock
# (target `sso-mock`, for the compose stack). `cargo xtask build --image` builds both;
# by hand:
#   docker build -t s3proxy .
#   docker build --target sso-mock -t sso-mock .

# Bookworm, like the runtime image below: a binary built against a newer glibc would
# not start there.
ARG RUST_IMAGE=rust:1.95-slim-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot

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
RUN cargo build --release --locked -p s3proxy -p sso-mock --bins \
    && mkdir -p /out \
    && cp target/release/s3proxy target/release/sso-mock /out/

# The SSO mock, for local stacks only: never deploy it.
FROM ${RUNTIME_IMAGE} AS sso-mock
COPY --from=builder /out/sso-mock /usr/local/bin/sso-mock
USER nonroot
EXPOSE 8081
ENTRYPOINT ["/usr/local/bin/sso-mock"]
CMD ["--bind", "0.0.0.0", "--port", "8081"]

# The proxy: only the binary, on a distroless base (glibc, CA certificates, no shell),
# as a non-root user. Last, so that it is what a plain `docker build` makes.
FROM ${RUNTIME_IMAGE} AS proxy
COPY --from=builder /out/s3proxy /usr/local/bin/s3proxy
USER nonroot
ENV PORT=8000
EXPOSE 8000
ENTRYPOINT ["/usr/local/bin/s3proxy"]
