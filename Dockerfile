# herald in a container: build with the Rust toolchain, run from a small
# Debian image as an unprivileged user.
#
#   docker build -t herald .
#   docker run --rm -v "$PWD:/site" herald build
#
# The site (config/, posts/, templates/, .herald/) is mounted at /site, the
# working folder; files herald writes there belong to uid 10001.

FROM rust:1.95-slim-trixie AS build
WORKDIR /src
# Dependencies first, so a change to herald's own code does not rebuild them.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src benches \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && for b in build send ledger; do echo 'fn main() {}' > benches/$b.rs; done \
    && cargo build --release --locked \
    && rm -rf src benches
COPY src ./src
COPY benches ./benches
# Bump the sources' times past the stub build's, so cargo rebuilds herald.
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked --bin herald

FROM debian:trixie-slim
# ca-certificates: herald's TLS trusts its built-in webpki roots, but a
# password_command or a private relay's CA file may want the system's.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /site --shell /usr/sbin/nologin herald
COPY --from=build /src/target/release/herald /usr/local/bin/herald
USER herald
WORKDIR /site
ENTRYPOINT ["herald"]
CMD ["--help"]
