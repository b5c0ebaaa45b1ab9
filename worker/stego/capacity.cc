#include "worker/stego/capacity.h"

#include <string>

#include "worker/stego/container.h"
#include "worker/stego/lsb.h"

namespace stego {

Result<size_t> MaxDataBytes(const CapacityQuery& query) {
  if (query.lsb_bits < kMinLsbBits || query.lsb_bits > kMaxLsbBits) {
    return Fail(ErrorCode::kInvalidArgument, "lsb_bits must be 1-4, got " + std::to_string(query.lsb_bits));
  }
  if (query.filename_bytes > kMaxNameBytes || query.mime_bytes > kMaxNameBytes) {
    return Fail(ErrorCode::kInvalidArgument, "filename and MIME type must be at most 255 bytes each");
  }
  const size_t body = BodyCapacity(query.dims, query.lsb_bits, query.encrypted);
  const size_t overhead = 2 + query.filename_bytes + query.mime_bytes + (query.encrypted ? kTagBytes : 0);
  return body > overhead ? body - overhead : 0;
}

Result<void> CheckCapacity(const PackedPayload& packed, const ImageDims& dims) {
  const int lsb_bits = packed.options.lsb_bits;
  const size_t available = BodyCapacity(dims, lsb_bits, packed.encrypted());
  const size_t needed = packed.stored_bytes();
  if (needed <= available) return {};
  return Fail(ErrorCode::kCapacityExceeded,
              "payload needs " + std::to_string(needed) + " bytes but the " + std::to_string(dims.width) + "x" +
                  std::to_string(dims.height) + " cover holds " + std::to_string(available) + " bytes at " +
                  std::to_string(lsb_bits) + " LSB per colour channel",
              needed, available);
}

}  // namespace stego
