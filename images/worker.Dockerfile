# stego-worker image: built from Debian bookworm packages, runs as a non-root user and needs no
# writable root filesystem (state lives in --data-dir, a mounted volume).
#   buildah bud -f images/worker.Dockerfile -t stego-worker:dev .
FROM debian:bookworm AS build
WORKDIR /src
COPY scripts/install-deps.sh scripts/
RUN bash scripts/install-deps.sh && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DSTEGO_BUILD_TESTS=OFF -DSTEGO_BUILD_BENCH=OFF \
 && cmake --build build --target stego-worker

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libopencv-core406 libopencv-imgproc406 libopencv-imgcodecs406 \
      libboost-program-options1.74.0 libspdlog1.10 libfmt9 libssl3 zlib1g libdeflate0 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/bin/stego-worker /usr/local/bin/stego-worker
USER 65532:65532
ENV STEGO_HTTP=0.0.0.0:8081 STEGO_DATA_DIR=/var/lib/stego
EXPOSE 8081
ENTRYPOINT ["/usr/local/bin/stego-worker"]
