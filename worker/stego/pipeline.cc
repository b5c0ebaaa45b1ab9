#include "worker/stego/pipeline.h"

#include <utility>

#include "worker/stego/capacity.h"

namespace stego {
namespace {

// Runs one phase and tells the observer how long it took.
template <class Work>
auto Timed(const PhaseObserver& observe, std::string_view phase, Work&& work) {
  if (!observe) return work();
  const auto start = std::chrono::steady_clock::now();
  auto result = work();
  observe(phase, std::chrono::steady_clock::now() - start);
  return result;
}

// The cover's header, read (an upload) or given (a stored cover), within the limits. A stored cover
// was within them when it was stored; they may have been lowered since.
Result<ImageInfo> CoverInfo(const EmbedJob& job, const PhaseObserver& observe) {
  if (const auto* upload = std::get_if<UploadedCover>(&job.cover)) {
    return Timed(observe, "probe", [&] { return ProbeWithinLimits(upload->file, job.limits); });
  }
  const ImageInfo& info = std::get<StoredCover>(job.cover).info;
  if (Result<void> ok = CheckLimits(info, job.limits); !ok) return common::Unexpected{std::move(ok).error()};
  return info;
}

// The cover's pixels, as a copy the embed may write into.
Result<Image> DecodeCover(const EmbedJob& job) {
  if (const auto* upload = std::get_if<UploadedCover>(&job.cover)) return DecodeImage(upload->file, job.limits);
  Result<std::shared_ptr<const Image>> shared = std::get<StoredCover>(job.cover).decode();
  if (!shared) return common::Unexpected{std::move(shared).error()};
  return **shared;
}

Result<Embedded> EmbedIntoPrepared(const EmbedJob& job, const PngTemplate& cover, const PhaseObserver& observe) {
  Result<PackedPayload> packed = Timed(observe, "pack", [&] { return Pack(job.secret, job.options); });
  if (!packed) return common::Unexpected{std::move(packed).error()};
  Result<StegoRows> rows = Timed(observe, "embed", [&] { return EmbedRows(cover.image(), *packed); });
  if (!rows) return common::Unexpected{std::move(rows).error()};
  Result<std::vector<uint8_t>> file =
      Timed(observe, "encode", [&] { return EncodeImage(cover, rows->top, job.format); });
  if (!file) return common::Unexpected{std::move(file).error()};
  return Embedded{std::move(*file), job.format, ImageDims::Of(cover.image()), cover.image().channels, rows->report};
}

}  // namespace

Result<Embedded> RunEmbed(const EmbedJob& job, const PhaseObserver& observe) {
  if (Result<void> ok = CheckLossless(job.format); !ok) return common::Unexpected{std::move(ok).error()};
  if (const auto* prepared = std::get_if<PreparedCover>(&job.cover)) return EmbedIntoPrepared(job, *prepared, observe);

  Result<ImageInfo> info = CoverInfo(job, observe);
  if (!info) return common::Unexpected{std::move(info).error()};
  Result<PackedPayload> packed = Timed(observe, "pack", [&] { return Pack(job.secret, job.options); });
  if (!packed) return common::Unexpected{std::move(packed).error()};
  if (Result<void> ok = CheckCapacity(*packed, info->dims()); !ok) return common::Unexpected{std::move(ok).error()};
  Result<Image> cover = Timed(observe, "decode", [&] { return DecodeCover(job); });
  if (!cover) return common::Unexpected{std::move(cover).error()};
  Result<EmbedReport> report = Timed(observe, "embed", [&] { return Embed(*cover, *packed); });
  if (!report) return common::Unexpected{std::move(report).error()};
  Result<std::vector<uint8_t>> file = Timed(observe, "encode", [&] { return EncodeImage(*cover, job.format); });
  if (!file) return common::Unexpected{std::move(file).error()};
  return Embedded{std::move(*file), job.format, ImageDims::Of(*cover), cover->channels, *report};
}

Result<Extracted> RunExtract(const ExtractJob& job, const PhaseObserver& observe) {
  Result<Image> image = Timed(observe, "decode", [&] { return DecodeImage(job.file, job.limits); });
  if (!image) return common::Unexpected{std::move(image).error()};
  return Timed(observe, "extract", [&] { return Extract(*image, job.password, job.max_output_bytes); });
}

}  // namespace stego
