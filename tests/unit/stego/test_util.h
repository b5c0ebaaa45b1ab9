// Helpers shared by the engine's tests: deterministic bytes and covers, OpenCV round trips, and a
// hand-rolled PNG builder for crafting hostile or unusual files.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "worker/stego/engine.h"

namespace stego::testing {

// Reproducible pseudo-random (incompressible) bytes.
std::vector<uint8_t> RandomData(size_t size, uint64_t seed);
// Compressible text of the given size.
std::vector<uint8_t> TextData(size_t size);

// A small synthetic cover.
Image Cover(int width, int height, int channels, uint64_t seed = 1);

// Options with a cheap scrypt cost so tests with passwords stay fast.
EmbedOptions Options(int lsb_bits, std::string password = {});

// Pack + Embed, asserting success; returns the report.
EmbedReport EmbedOrDie(Image& cover, const std::vector<uint8_t>& data, const EmbedOptions& options);

// A PNG file from its parts: IHDR fields, the raw (already filtered) scanlines to deflate, and extra
// chunks inserted before IDAT. CRCs are correct unless a test edits the bytes afterwards.
struct PngChunk {
  std::string type;
  std::vector<uint8_t> data;
};
std::vector<uint8_t> BuildPng(uint32_t width, uint32_t height, uint8_t bit_depth, uint8_t colour_type,
                              const std::vector<uint8_t>& scanlines, const std::vector<PngChunk>& extra = {});

// Encodes with OpenCV (for covers in formats our encoder refuses, e.g. JPEG, or 16-bit images).
std::vector<uint8_t> OpenCvEncode(const std::string& extension, int width, int height, int type,
                                  const void* pixels, const std::vector<int>& params = {});

}  // namespace stego::testing
