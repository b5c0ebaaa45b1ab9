#include "worker/stego/synthetic.h"

#include <algorithm>
#include <array>
#include <string>
#include <vector>

namespace stego {
namespace {

uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Uniform integer in [lo, hi]; the modulo bias is irrelevant for pictures.
int RandomIn(uint64_t& state, int lo, int hi) {
  return lo + static_cast<int>(SplitMix64(state) % static_cast<uint64_t>(hi - lo + 1));
}

uint8_t Clamp8(int v) { return static_cast<uint8_t>(std::clamp(v, 0, 255)); }

// Smooth random field: random values on a grid of `cell`-pixel squares, interpolated with a
// smoothstep so there are no visible grid lines. Values in [-amplitude, amplitude].
class ValueNoise {
 public:
  ValueNoise(int width, int height, int cell, int amplitude, uint64_t& rng)
      : cell_(std::max(cell, 2)), columns_(width / cell_ + 2) {
    const int rows = height / cell_ + 2;
    grid_.resize(static_cast<size_t>(columns_) * static_cast<size_t>(rows));
    for (int& v : grid_) v = RandomIn(rng, -amplitude, amplitude);
    for (int x = 0; x < width; ++x) {
      column_cell_.push_back(x / cell_);
      column_weight_.push_back(Smooth((x % cell_) * 256 / cell_));
    }
  }

  // Adds row y of the field to `row`.
  void AddRow(int y, std::vector<int>& row) const {
    const int gy = y / cell_, ty = Smooth((y % cell_) * 256 / cell_);
    for (size_t x = 0; x < row.size(); ++x) {
      const int gx = column_cell_[x], tx = column_weight_[x];
      const int top = Lerp(Grid(gx, gy), Grid(gx + 1, gy), tx);
      const int bottom = Lerp(Grid(gx, gy + 1), Grid(gx + 1, gy + 1), tx);
      row[x] += Lerp(top, bottom, ty);
    }
  }

 private:
  static int Smooth(int t) { return t * t * (768 - 2 * t) >> 16; }  // 3t^2 - 2t^3 on [0, 256)
  static int Lerp(int a, int b, int t) { return a + (((b - a) * t) >> 8); }
  int Grid(int gx, int gy) const {
    return grid_[static_cast<size_t>(gy) * static_cast<size_t>(columns_) + static_cast<size_t>(gx)];
  }

  int cell_;
  int columns_;
  std::vector<int> grid_;
  std::vector<int> column_cell_, column_weight_;
};

// A shaded ellipse with a soft rim, like a lit object.
struct Blob {
  int cx, cy, rx, ry;
  std::array<int, 3> colour;

  // Blend weight in [0, 256] and a shading offset for pixel (x, y).
  bool Covers(int x, int y, int& weight, int& shade) const {
    const int64_t dx = x - cx, dy = y - cy;
    if (dx <= -rx || dx >= rx || dy <= -ry || dy >= ry) return false;
    const int64_t q = (dx * dx * 1024) / (int64_t{rx} * rx) + (dy * dy * 1024) / (int64_t{ry} * ry);
    if (q >= 1024) return false;
    weight = static_cast<int>(std::min<int64_t>(256, (1024 - q) * 2));  // soft rim
    shade = static_cast<int>(-q / 24);                                    // darker towards the rim
    return true;
  }
};

std::vector<Blob> RandomBlobs(int width, int height, uint64_t& rng) {
  std::vector<Blob> blobs(static_cast<size_t>(RandomIn(rng, 4, 10)));
  const int small = std::max(4, std::min(width, height) / 12);
  const int large = std::max(small, std::min(width, height) / 3);
  for (Blob& b : blobs) {
    b = {RandomIn(rng, 0, width - 1), RandomIn(rng, 0, height - 1), RandomIn(rng, small, large),
         RandomIn(rng, small, large), {RandomIn(rng, 20, 235), RandomIn(rng, 20, 235), RandomIn(rng, 20, 235)}};
  }
  return blobs;
}

// Alpha fading from 255 in the centre to 95 in the corners; dx, dy are offsets from the centre, doubled.
int Vignette(int64_t dx, int64_t dy, int64_t w1, int64_t h1) {
  return 255 - static_cast<int>((dx * dx * 80) / (w1 * w1) + (dy * dy * 80) / (h1 * h1));
}

void WritePixel(uint8_t* out, int channels, const std::array<int, 3>& bgr, int alpha) {
  if (channels == 1) {
    out[0] = Clamp8((bgr[0] * 29 + bgr[1] * 150 + bgr[2] * 77) >> 8);
    return;
  }
  for (size_t c = 0; c < 3; ++c) out[c] = Clamp8(bgr[c]);
  if (channels == 4) out[3] = Clamp8(alpha);
}

// Interpolation between four corner colours, in 16.16 fixed point along each row.
class Gradient {
 public:
  Gradient(int width, int height, uint64_t& rng) : width_(std::max(1, width - 1)), height_(std::max(1, height - 1)) {
    for (auto& corner : corners_) {
      for (int& v : corner) v = RandomIn(rng, 30, 225);
    }
  }

  // Starts row y: the left colour and the per-pixel step towards the right one.
  void StartRow(int y, std::array<int64_t, 3>& value, std::array<int64_t, 3>& step) const {
    for (size_t c = 0; c < 3; ++c) {
      const int64_t left = (int64_t{corners_[0][c]} * (height_ - y) + int64_t{corners_[2][c]} * y) * 65536 / height_;
      const int64_t right = (int64_t{corners_[1][c]} * (height_ - y) + int64_t{corners_[3][c]} * y) * 65536 / height_;
      value[c] = left;
      step[c] = (right - left) / width_;
    }
  }

 private:
  int64_t width_, height_;
  std::array<std::array<int, 3>, 4> corners_;  // top-left, top-right, bottom-left, bottom-right
};

}  // namespace

Image SyntheticCover(int width, int height, uint64_t seed, int channels) {
  uint64_t rng = seed;
  const Gradient gradient(width, height, rng);
  const ValueNoise light(width, height, std::max(width, height) / 5, 40, rng);
  const ValueNoise texture(width, height, std::max(width, height) / 40, 14, rng);
  const std::vector<Blob> blobs = RandomBlobs(width, height, rng);

  Image image = Image::Blank(width, height, channels);
  uint8_t* out = image.pixels.data();
  const int64_t w1 = std::max(1, width - 1), h1 = std::max(1, height - 1);
  std::vector<int> lighting(static_cast<size_t>(width));
  for (int y = 0; y < height; ++y) {
    std::fill(lighting.begin(), lighting.end(), 0);
    light.AddRow(y, lighting);
    texture.AddRow(y, lighting);
    std::array<int64_t, 3> base, step;
    gradient.StartRow(y, base, step);
    const int64_t dy = 2 * y - h1;
    for (int x = 0; x < width; ++x) {
      const int l = lighting[static_cast<size_t>(x)];
      std::array<int, 3> bgr;
      for (size_t c = 0; c < 3; ++c) bgr[c] = static_cast<int>((base[c] + step[c] * x) >> 16) + l;
      for (const Blob& b : blobs) {
        int weight, shade;
        if (!b.Covers(x, y, weight, shade)) continue;
        for (size_t c = 0; c < 3; ++c) bgr[c] += ((b.colour[c] + shade + l - bgr[c]) * weight) >> 8;
      }
      uint64_t noise = SplitMix64(rng);  // eight bytes of sensor noise for this pixel
      for (int& v : bgr) {
        v += static_cast<int>(noise & 7) - 3;  // +-3 levels
        noise >>= 8;
      }
      WritePixel(out, channels, bgr, channels == 4 ? Vignette(2 * x - w1, dy, w1, h1) : 255);
      out += channels;
    }
  }
  return image;
}

Image DefaultCover() {
  constexpr uint64_t kSeed = 0x5745'4730'0001;  // any fixed value: the cover must not change
  return SyntheticCover(1920, 1080, kSeed);
}

Result<Image> DatasetImage(int index) {
  if (index < 0 || index >= kDatasetSize) {
    return Fail(ErrorCode::kInvalidArgument,
                "dataset index " + std::to_string(index) + " is outside 0.." + std::to_string(kDatasetSize - 1));
  }
  static constexpr std::array<std::array<int, 2>, 10> kSizes = {{{256, 256}, {320, 240}, {400, 300}, {512, 384},
                                                                 {640, 360}, {480, 480}, {640, 480}, {576, 432},
                                                                 {600, 400}, {360, 480}}};
  const auto& size = kSizes[static_cast<size_t>(index) % kSizes.size()];
  const int channels = index % 7 == 6 ? 1 : index % 5 == 4 ? 4 : 3;
  return SyntheticCover(size[0], size[1], 0x5EED0000ULL + static_cast<uint64_t>(index), channels);
}

}  // namespace stego
