# stego-worker image. Made FROM THE ALREADY BUILT BINARY (build/bin/stego-worker, stripped by
# images/build.sh, which stages it as the only file of the build context), not by building the C++
# tree in a build stage: CI has just built it, and a second C++ build would cost about 15 of CI's
# 90 minutes. Build it with images/build.sh (docs/images.md).
# Runs as the numeric non-root user 65532 and needs no writable root filesystem: its only state is
# --data-dir, a mounted volume (the operator's pods mount one and pass the flags).
# No HEALTHCHECK: Kubernetes probes /healthz and /readyz (the operator's pod spec) and ignores it.
FROM docker.io/library/debian:bookworm-slim

# The runtime libraries: the binary's NEEDED entries (objdump -p) mapped to their packages with
# dpkg -S; apt brings what they depend on (rocksdb is linked in statically, its codecs are not).
RUN export DEBIAN_FRONTEND=noninteractive \
 && apt-get update \
 && apt-get install -y --no-install-recommends \
      libboost-program-options1.74.0 libcpprest2.10 libopencv-core406 libopencv-imgcodecs406 \
      libspdlog1.10 libfmt9 libssl3 zlib1g libdeflate0 libsnappy1v5 libbz2-1.0 liblz4-1 libzstd1 \
      libstdc++6 libgcc-s1 libc6 \
 && rm -rf /var/lib/apt/lists/* \
 && echo 'nonroot:x:65532:' >> /etc/group \
 && echo 'nonroot:x:65532:65532:nonroot:/nonexistent:/usr/sbin/nologin' >> /etc/passwd

# org.opencontainers.image.version and .revision come from images/build.sh as --label flags, not
# as ARG + LABEL here: buildah 1.28's layer cache ignores build-arg values, so a cached LABEL step
# kept the previous build's revision (seen); --label applies to the final image whatever the cache.
LABEL org.opencontainers.image.title="stego-worker" \
      org.opencontainers.image.description="stego-cluster worker: the steganography HTTP API, a Raft cluster member" \
      org.opencontainers.image.source="https://github.com/stego-cluster/stego-cluster"

COPY stego-worker /usr/local/bin/stego-worker
# Found by the worker beside its binary: /usr/local/bin/../share/stego-worker/console.
COPY console /usr/local/share/stego-worker/console
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/stego-worker"]
