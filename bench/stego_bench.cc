// Benchmarks of the stego engine on the worker's default cover: a synthetic 1920x1080 BGR image.
//
// Throughput is reported as cover channel bytes per second (1920 * 1080 * 3 = 6.2 MB per call), the
// figure the ">= 1 GB/s per core" target is stated in. Embed and Extract carry a full-capacity,
// incompressible payload and exclude image codec time; they include the container work (CRC-32,
// header) around the bit kernels, which are also measured alone.
#include <benchmark/benchmark.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <cstring>
#include <limits>

#include "worker/stego/crypto.h"
#include "worker/stego/engine.h"
#include "worker/stego/lsb.h"
#include "worker/stego/png_writer.h"

namespace stego {
namespace {

constexpr size_t kNoLimit = std::numeric_limits<size_t>::max();

const Image& Cover() {
  static const Image cover = DefaultCover();
  return cover;
}

std::vector<uint8_t> Incompressible(size_t size) {
  std::vector<uint8_t> data(size);
  uint64_t state = 0x243F6A8885A308D3ULL;
  for (uint8_t& b : data) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    b = static_cast<uint8_t>(state >> 56);
  }
  return data;
}

// Password payloads use the cheapest accepted scrypt cost; its default cost is measured apart below.
EmbedOptions Options(int64_t lsb_bits, std::string password = {}) {
  EmbedOptions options;
  options.lsb_bits = static_cast<int>(lsb_bits);
  options.password = std::move(password);
  options.scrypt_log2n = kMinScryptLog2N;
  return options;
}

PackedPayload FullCapacity(const Image& cover, const EmbedOptions& options) {
  const size_t capacity = *MaxDataBytes({ImageDims::Of(cover), options.lsb_bits, !options.password.empty(), 0, 0});
  return *Pack(Incompressible(capacity), options);
}

void ReportCoverBytes(benchmark::State& state, const Image& cover) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(cover.pixels.size()));
}

// Reference: one read and one write of the cover, the least an in-place embed must move.
void BM_CopyCover(benchmark::State& state) {
  const Image& cover = Cover();
  std::vector<uint8_t> copy(cover.pixels.size());
  for (auto _ : state) {
    std::memcpy(copy.data(), cover.pixels.data(), copy.size());
    benchmark::ClobberMemory();
  }
  ReportCoverBytes(state, cover);
}
BENCHMARK(BM_CopyCover)->Unit(benchmark::kMillisecond);

void BM_Embed(benchmark::State& state) {
  Image cover = Cover();
  const PackedPayload packed = FullCapacity(cover, Options(state.range(0)));
  for (auto _ : state) {
    Result<EmbedReport> report = Embed(cover, packed);
    benchmark::DoNotOptimize(report);
  }
  ReportCoverBytes(state, cover);
  state.counters["payload_bytes"] = static_cast<double>(packed.data_bytes);
}
BENCHMARK(BM_Embed)->ArgName("lsb")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);

void BM_Extract(benchmark::State& state) {
  Image stego = Cover();
  const PackedPayload packed = FullCapacity(stego, Options(state.range(0)));
  (void)Embed(stego, packed);
  for (auto _ : state) {
    Result<Extracted> extracted = Extract(stego, "", kNoLimit);
    if (!extracted) state.SkipWithError(extracted.error().message.c_str());
    benchmark::DoNotOptimize(extracted);
  }
  ReportCoverBytes(state, stego);
}
BENCHMARK(BM_Extract)->ArgName("lsb")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);

// The bit kernels alone, every depth: all groups of the cover, front to back.
void BM_WriteGroups(benchmark::State& state) {
  Image cover = Cover();
  const int depth = static_cast<int>(state.range(0));
  const std::vector<uint8_t> bytes = Incompressible(GroupCount(ImageDims::Of(cover)) * GroupBytes(depth));
  for (auto _ : state) {
    WriteGroups(cover, depth, 0, bytes);
    benchmark::ClobberMemory();
  }
  ReportCoverBytes(state, cover);
}
BENCHMARK(BM_WriteGroups)->ArgName("lsb")->DenseRange(1, 4)->Unit(benchmark::kMillisecond);

void BM_ReadGroups(benchmark::State& state) {
  const Image& cover = Cover();
  const int depth = static_cast<int>(state.range(0));
  std::vector<uint8_t> bytes(GroupCount(ImageDims::Of(cover)) * GroupBytes(depth));
  for (auto _ : state) {
    ReadGroups(cover, depth, 0, bytes);
    benchmark::ClobberMemory();
  }
  ReportCoverBytes(state, cover);
}
BENCHMARK(BM_ReadGroups)->ArgName("lsb")->DenseRange(1, 4)->Unit(benchmark::kMillisecond);

// With a password: scrypt at the cheapest cost, AES-256-GCM, the keyed order and the scattered writes.
void BM_EmbedKeyed(benchmark::State& state) {
  Image cover = Cover();
  const PackedPayload packed = FullCapacity(cover, Options(state.range(0), "benchmark"));
  for (auto _ : state) {
    Result<EmbedReport> report = Embed(cover, packed);
    benchmark::DoNotOptimize(report);
  }
  ReportCoverBytes(state, cover);
}
BENCHMARK(BM_EmbedKeyed)->ArgName("lsb")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);

void BM_ExtractKeyed(benchmark::State& state) {
  Image stego = Cover();
  const PackedPayload packed = FullCapacity(stego, Options(state.range(0), "benchmark"));
  (void)Embed(stego, packed);
  for (auto _ : state) {
    Result<Extracted> extracted = Extract(stego, "benchmark", kNoLimit);
    if (!extracted) state.SkipWithError(extracted.error().message.c_str());
    benchmark::DoNotOptimize(extracted);
  }
  ReportCoverBytes(state, stego);
}
BENCHMARK(BM_ExtractKeyed)->ArgName("lsb")->Arg(1)->Unit(benchmark::kMillisecond);

void BM_Scrypt(benchmark::State& state) {
  const std::array<uint8_t, kSaltBytes> salt{};
  for (auto _ : state) {
    Result<DerivedKeys> keys = DeriveKeys("benchmark", salt, static_cast<int>(state.range(0)));
    benchmark::DoNotOptimize(keys);
  }
}
BENCHMARK(BM_Scrypt)->ArgName("log2n")->Arg(kMinScryptLog2N)->Arg(kDefaultScryptLog2N)->Unit(benchmark::kMillisecond);

// Pack of a 100 KB upload: the deflate attempt, kept when it shrinks the payload.
void BM_Pack100KB(benchmark::State& state) {
  std::vector<uint8_t> data = Incompressible(100 * 1024);
  if (state.range(0) == 1) {
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>("lorem ipsum dolor sit amet, "[i % 28]);
  }
  for (auto _ : state) {
    Result<PackedPayload> packed = Pack(data, {});
    benchmark::DoNotOptimize(packed);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(data.size()));
}
BENCHMARK(BM_Pack100KB)->ArgName("text")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

// Our PNG writer on the 1080p cover: one band on one thread, and the default (bands on all cores).
void BM_WritePng(benchmark::State& state) {
  const Image& cover = Cover();
  size_t size = 0;
  for (auto _ : state) {
    Result<std::vector<uint8_t>> png = WritePng(cover, {.bands = static_cast<int>(state.range(0))});
    size = png->size();
  }
  ReportCoverBytes(state, cover);
  state.counters["png_bytes"] = static_cast<double>(size);
}
BENCHMARK(BM_WritePng)->ArgName("bands")->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond)->UseRealTime();

// Preparing the default cover's PNG template, once at worker start-up.
void BM_PreparePngTemplate(benchmark::State& state) {
  const auto cover = std::make_shared<const Image>(Cover());
  size_t size = 0;
  for (auto _ : state) size = PngTemplate::Prepare(cover)->Write(Image{cover->width, 0, cover->channels, {}})->size();
  state.counters["png_bytes"] = static_cast<double>(size);
}
BENCHMARK(BM_PreparePngTemplate)->Unit(benchmark::kMillisecond)->UseRealTime();

// What an embed into the default cover costs after packing, as the worker runs it: the rows the
// payload reaches are copied and written, and only their PNG bands deflated. Argument: the packed
// payload in KiB (incompressible); 0 stands for a full-capacity one.
void BM_EmbedIntoDefaultCover(benchmark::State& state) {
  static const PngTemplate cover = *PngTemplate::Prepare(std::make_shared<const Image>(Cover()));
  const size_t capacity = *MaxDataBytes({ImageDims::Of(cover.image()), 1, false, 0, 0});
  const size_t bytes = state.range(0) == 0 ? capacity : static_cast<size_t>(state.range(0)) * 1024;
  const PackedPayload packed = *Pack(Incompressible(bytes), Options(1));
  size_t size = 0;
  for (auto _ : state) {
    Result<StegoRows> stego = EmbedRows(cover.image(), packed);
    size = EncodeImage(cover, stego->top, ImageFormat::kPng)->size();
  }
  state.counters["png_bytes"] = static_cast<double>(size);
}
BENCHMARK(BM_EmbedIntoDefaultCover)->ArgName("payload_kib")->Arg(4)->Arg(100)->Arg(500)->Arg(0)
    ->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_OpenCvPngEncode(benchmark::State& state) {
  const Image& cover = Cover();
  const cv::Mat mat(cover.height, cover.width, CV_8UC3, const_cast<uint8_t*>(cover.pixels.data()));
  std::vector<uint8_t> png;
  for (auto _ : state) cv::imencode(".png", mat, png, {cv::IMWRITE_PNG_COMPRESSION, static_cast<int>(state.range(0))});
  ReportCoverBytes(state, cover);
  state.counters["png_bytes"] = static_cast<double>(png.size());
}
BENCHMARK(BM_OpenCvPngEncode)->ArgName("level")->Arg(1)->Arg(3)->Unit(benchmark::kMillisecond);

// DecodeImage: header probe, OpenCV's PNG decoder, copy into an Image.
void BM_DecodePng(benchmark::State& state) {
  const Image& cover = Cover();
  const std::vector<uint8_t> png = *WritePng(cover);
  for (auto _ : state) {
    Result<Image> image = DecodeImage(png);
    benchmark::DoNotOptimize(image);
  }
  ReportCoverBytes(state, cover);
}
BENCHMARK(BM_DecodePng)->Unit(benchmark::kMillisecond);

void BM_SyntheticCover(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(SyntheticCover(1920, 1080, 1));
}
BENCHMARK(BM_SyntheticCover)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace stego

BENCHMARK_MAIN();
