// libFuzzer target for the Raft peer codec (worker/raft/transport/codec.h) and the configuration
// entry inside it (worker/raft/confchange.h): the bytes a peer (or anyone past the peer port's
// authentication) sends.
//
// For every input it checks:
//   1. no crash, leak or undefined behaviour, and no allocation beyond the input (a forged count
//      must not reserve memory: ASan's allocator would report an oversized allocation);
//   2. a decoded batch re-encodes to exactly the input bytes (the format has one encoding per
//      batch), and EncodedSize agrees with the encoding;
//   3. a refusal is kInvalidMessage, with a message;
//   4. the same for the configuration entry decoder, run on the whole input and on the data of every
//      decoded kConfChange entry: a decoded entry re-encodes to its bytes and its member lists are
//      well formed.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tests/fuzz/fuzz_check.h"
#include "worker/raft/confchange.h"
#include "worker/raft/transport/codec.h"

namespace {

void CheckConfEntry(std::string_view bytes) {
  const raft::Result<raft::ConfEntry> entry = raft::DecodeConfEntry(bytes);
  if (!entry) {
    FUZZ_CHECK(entry.error().code == raft::ErrorCode::kCorruptState);
    return;
  }
  FUZZ_CHECK(raft::IsValidConfState(entry->next));
  FUZZ_CHECK(raft::EncodeConfEntry(*entry) == bytes);
}

void CheckBatch(std::string_view bytes) {
  const raft::Result<std::vector<raft::Message>> batch = raft::transport::DecodeBatch(bytes);
  if (!batch) {
    FUZZ_CHECK(batch.error().code == raft::ErrorCode::kInvalidMessage);
    FUZZ_CHECK(!batch.error().message.empty());
    return;
  }
  FUZZ_CHECK(raft::transport::EncodeBatch(*batch) == bytes);
  std::uint64_t size = 2 + 4;  // magic, version, count
  for (const raft::Message& m : *batch) {
    FUZZ_CHECK(m.from != raft::kNone && m.to != raft::kNone);
    size += raft::transport::EncodedSize(m);
    for (const raft::Entry& e : m.entries) {
      if (e.type == raft::EntryType::kConfChange) CheckConfEntry(e.data);
    }
  }
  FUZZ_CHECK(size == bytes.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  CheckBatch(bytes);
  CheckConfEntry(bytes);
  return 0;
}
