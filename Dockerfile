# syntax=docker/dockerfile:1
# foundry-controller image: build on Debian bookworm, run on bookworm-slim with
# only the shared libraries the binary links (libcurl, cJSON, libyaml,
# libwebsockets) and the CA certificates for Azure and the API server.
#
#   docker build -t ghcr.io/aucert/foundry-controller:0.1.0 --build-arg VERSION=0.1.0 .
#
# The binary runs as 65532:65532 (as the Helm chart's securityContext expects)
# and writes nothing to disk, so the root filesystem can be read-only.

ARG DEBIAN_RELEASE=bookworm

FROM debian:${DEBIAN_RELEASE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential pkg-config \
      libcurl4-openssl-dev libcjson-dev libyaml-dev libwebsockets-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile ./
COPY controller/ controller/
# No .git in the build context: the version comes from the build argument.
ARG VERSION=0.0.0-dev
RUN make VERSION="${VERSION}" \
 && strip --strip-unneeded bin/foundry-controller \
 && ./bin/foundry-controller version

FROM debian:${DEBIAN_RELEASE}-slim
ARG VERSION=0.0.0-dev
LABEL org.opencontainers.image.title="foundry-controller" \
      org.opencontainers.image.description="Checks Azure AI Foundry model deployments and publishes them to the llm-config ConfigMap" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="https://github.com/aucert/foundry-controller"
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libcurl4 libcjson1 libyaml-0-2 libwebsockets17 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 65532 nonroot \
 && useradd --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin nonroot
COPY --from=build /src/bin/foundry-controller /usr/local/bin/foundry-controller
USER 65532:65532
# 8080 metrics (/metrics), 8081 probes (/healthz, /readyz)
EXPOSE 8080 8081
ENTRYPOINT ["/usr/local/bin/foundry-controller"]
CMD ["run"]
