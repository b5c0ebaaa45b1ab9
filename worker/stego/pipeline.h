// The embed and extract requests end to end, as engine.h describes them: each step in the order that
// refuses cheapest first, so a request that cannot succeed costs a header read, not a decode or a
// key derivation. Still pure: the caller brings the bytes (and, to measure, an observer of phases).
// Included through engine.h.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>
#include <variant>
#include <vector>

#include "worker/stego/codec.h"
#include "worker/stego/embed.h"
#include "worker/stego/error.h"
#include "worker/stego/image.h"
#include "worker/stego/payload.h"
#include "worker/stego/png_writer.h"
#include "worker/stego/probe.h"

namespace stego {

// Told how long each phase of a request took: "probe", "pack", "decode", "embed", "encode" (embed)
// or "decode", "extract" (extract), once each, in that order; a phase a request skips, or one
// refused before it ran, is not reported. The engine measures; the caller records.
using PhaseObserver = std::function<void(std::string_view phase, std::chrono::steady_clock::duration elapsed)>;

// An image file given with the request: its header is probed before its pixels are decoded.
struct UploadedCover {
  std::span<const uint8_t> file;
};

// A cover whose header is known without reading it (the cluster's cover library keeps it as
// metadata). `decode` is called only after the limits and the capacity have passed; the embed then
// writes into a copy of its pixels.
struct StoredCover {
  ImageInfo info;
  std::function<Result<std::shared_ptr<const Image>>()> decode;
};

// A cover shared by every request, its PNG prepared ahead (the worker's default cover). It is never
// copied: EmbedRows copies the rows the payload reaches and EncodeImage(template, rows, format)
// deflates only their bands. No pixel limit applies; whoever prepared it chose it.
using PreparedCover = std::reference_wrapper<const PngTemplate>;

using CoverSource = std::variant<UploadedCover, StoredCover, PreparedCover>;

struct EmbedJob {
  std::span<const uint8_t> secret;
  EmbedOptions options;
  ImageFormat format = ImageFormat::kPng;  // of the stego image
  CoverSource cover;
  DecodeLimits limits;  // for uploaded and stored covers
};

struct Embedded {
  std::vector<uint8_t> file;  // the stego image, encoded in `format`
  ImageFormat format = ImageFormat::kPng;
  ImageDims dims;    // the cover's
  int channels = 0;  // the cover's, alpha included
  EmbedReport report;
};

// Runs, stopping at the first refusal:
//   CheckLossless(format)                      nothing to do when the output cannot keep the bits
//   ProbeImage + CheckLimits                   from the upload's header, or the stored cover's info
//   Pack                                       record + deflate when smaller
//   CheckCapacity                              exact fit, from the geometry alone
//   decode                                     DecodeImage, or the stored cover's `decode`, copied
//   Embed                                      keys, encryption, the bits
//   EncodeImage
// and for a prepared cover: CheckLossless, Pack, EmbedRows (capacity first), EncodeImage(template,
// rows, format). Errors are the steps' own.
Result<Embedded> RunEmbed(const EmbedJob& job, const PhaseObserver& observe = {});

struct ExtractJob {
  std::span<const uint8_t> file;  // the stego image
  std::string_view password;
  size_t max_output_bytes = 0;  // see Extract
  DecodeLimits limits;
};

// DecodeImage (the limits checked from the header first), then Extract. Errors are theirs.
Result<Extracted> RunExtract(const ExtractJob& job, const PhaseObserver& observe = {});

}  // namespace stego
