# stego-operator image. Made FROM THE ALREADY BUILT BINARY (build/bin/stego-operator, stripped by
# images/build.sh, which stages it as the only file of the build context), not by building the C++
# tree in a build stage: CI has just built it, and a second C++ build would cost about 15 of CI's
# 90 minutes. Build it with images/build.sh (docs/images.md).
# Runs as the numeric non-root user 65532 and needs no writable root filesystem (it keeps no state;
# in-cluster it reads the ServiceAccount token and CA that Kubernetes mounts).
# No HEALTHCHECK: Kubernetes probes /healthz and /readyz (the Helm chart's Deployment) and ignores it.
FROM docker.io/library/debian:bookworm-slim

# The runtime libraries: the binary's NEEDED entries (objdump -p) mapped to their packages with
# dpkg -S; apt brings what they depend on.
RUN export DEBIAN_FRONTEND=noninteractive \
 && apt-get update \
 && apt-get install -y --no-install-recommends \
      libboost-program-options1.74.0 libcpprest2.10 libyaml-cpp0.7 libspdlog1.10 libfmt9 libssl3 \
      libstdc++6 libgcc-s1 libc6 \
 && rm -rf /var/lib/apt/lists/* \
 && echo 'nonroot:x:65532:' >> /etc/group \
 && echo 'nonroot:x:65532:65532:nonroot:/nonexistent:/usr/sbin/nologin' >> /etc/passwd

# org.opencontainers.image.version and .revision come from images/build.sh as --label flags, not
# as ARG + LABEL here: buildah 1.28's layer cache ignores build-arg values, so a cached LABEL step
# kept the previous build's revision (seen); --label applies to the final image whatever the cache.
LABEL org.opencontainers.image.title="stego-operator" \
      org.opencontainers.image.description="stego-cluster operator: manages StegoCluster resources (Raft clusters of stego-worker pods)" \
      org.opencontainers.image.source="https://github.com/stego-cluster/stego-cluster"

COPY stego-operator /usr/local/bin/stego-operator
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/stego-operator"]
