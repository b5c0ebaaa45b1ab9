// Exact capacity: how many bytes a cover holds, and whether a packed payload fits, computed from the
// geometry alone so callers can check before decoding the cover (ImageInfo::dims() from the probe)
// and before any key derivation. The figures follow the container layout exactly (container.h):
// whole groups only, the preamble and header first, the GCM tag and the record's name/MIME fields
// counted.
#pragma once

#include <cstddef>

#include "worker/stego/error.h"
#include "worker/stego/image.h"
#include "worker/stego/payload.h"

namespace stego {

struct CapacityQuery {
  ImageDims dims;
  int lsb_bits = 1;
  bool encrypted = false;
  size_t filename_bytes = 0;
  size_t mime_bytes = 0;
};

// The most payload bytes that fit before compression (deflate may fit more). kInvalidArgument for an
// lsb depth outside 1-4 or a name/MIME type over 255 bytes.
Result<size_t> MaxDataBytes(const CapacityQuery& query);

// kCapacityExceeded when the packed payload does not fit a cover of these dimensions at its options'
// depth; the error's needed_bytes/available_bytes count stored body bytes.
Result<void> CheckCapacity(const PackedPayload& packed, const ImageDims& dims);

}  // namespace stego
