// The peer wire format (worker/raft/transport/codec.h): every message type survives a round trip
// with every field set, and no malformed input — truncated, forged counts, unknown enums,
// trailing bytes — decodes, crashes or allocates beyond its own size.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "worker/raft/transport/codec.h"

namespace raft::transport {
namespace {

bool SameMessage(const Message& a, const Message& b) {
  const bool same_snapshot =
      (!a.snapshot && !b.snapshot) ||
      (a.snapshot && b.snapshot && a.snapshot->meta == b.snapshot->meta && a.snapshot->data == b.snapshot->data);
  return a.type == b.type && a.from == b.from && a.to == b.to && a.term == b.term &&
         a.log_term == b.log_term && a.index == b.index && a.commit == b.commit &&
         a.entries == b.entries && same_snapshot && a.reject == b.reject &&
         a.reject_hint == b.reject_hint && a.leader_transfer == b.leader_transfer &&
         a.context == b.context;
}

Message Full(MessageType type) {
  Message m;
  m.type = type;
  m.from = 3;
  m.to = 0xfffffffffffffff1ULL;  // all 8 bytes matter
  m.term = 7;
  m.log_term = 6;
  m.index = 1ULL << 40;
  m.commit = 99;
  m.reject = true;
  m.reject_hint = 42;
  m.leader_transfer = true;
  m.context = std::string("ctx\0with nul", 12);
  m.entries = {Entry{6, 100, EntryType::kNormal, "payload"}, Entry{7, 101, EntryType::kConfChange, ""},
               Entry{7, 102, EntryType::kNormal, std::string(3000, '\xff')}};
  return m;
}

std::vector<Message> EveryType() {
  std::vector<Message> out;
  for (int t = 0; t <= static_cast<int>(MessageType::kTimeoutNow); ++t) {
    out.push_back(Full(static_cast<MessageType>(t)));
  }
  auto snap = std::make_shared<Snapshot>();
  snap->meta = SnapshotMeta{500, 6, ConfState{{1, 2, 3}, {9}}};
  snap->data = std::string(10000, 's');
  out[static_cast<int>(MessageType::kSnapshot)].snapshot = snap;
  return out;
}

TEST(Codec, EveryMessageTypeRoundTripsWithEveryField) {
  const std::vector<Message> batch = EveryType();
  const std::string bytes = EncodeBatch(batch);
  auto decoded = DecodeBatch(bytes);
  ASSERT_TRUE(decoded) << decoded.error().message;
  ASSERT_EQ(decoded->size(), batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i) {
    EXPECT_TRUE(SameMessage(batch[i], (*decoded)[i])) << "message " << i << " ("
                                                      << MessageTypeName(batch[i].type) << ")";
  }
}

TEST(Codec, EncodedSizeIsExact) {
  std::uint64_t total = 6;  // batch header
  for (const Message& m : EveryType()) {
    EXPECT_EQ(EncodedSize(m), EncodeBatch({m}).size() - 6) << MessageTypeName(m.type);
    total += EncodedSize(m);
  }
  EXPECT_EQ(total, EncodeBatch(EveryType()).size());
}

TEST(Codec, EmptyBatchIsValid) {
  auto decoded = DecodeBatch(EncodeBatch({}));
  ASSERT_TRUE(decoded);
  EXPECT_TRUE(decoded->empty());
}

// Every proper prefix of a valid batch is refused (none decodes to a shorter, "valid" batch).
TEST(Codec, EveryTruncationIsRefused) {
  std::vector<Message> batch = EveryType();
  batch.resize(4);
  const std::string bytes = EncodeBatch(batch);
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    auto decoded = DecodeBatch(std::string_view(bytes).substr(0, n));
    ASSERT_FALSE(decoded) << "prefix of " << n << " bytes decoded";
    EXPECT_EQ(decoded.error().code, ErrorCode::kInvalidMessage);
  }
}

TEST(Codec, TrailingBytesAreRefused) {
  std::string bytes = EncodeBatch({Full(MessageType::kHeartbeat)});
  bytes.push_back('\0');
  auto decoded = DecodeBatch(bytes);
  ASSERT_FALSE(decoded);
  EXPECT_NE(decoded.error().message.find("trailing"), std::string::npos);
}

TEST(Codec, WrongMagicAndFutureVersionsAreRefusedByName) {
  std::string bytes = EncodeBatch({Full(MessageType::kVote)});
  std::string other = bytes;
  other[0] = 'X';
  EXPECT_FALSE(DecodeBatch(other));
  other = bytes;
  other[1] = 2;
  auto decoded = DecodeBatch(other);
  ASSERT_FALSE(decoded);
  EXPECT_NE(decoded.error().message.find("version 2"), std::string::npos) << decoded.error().message;
}

// Offsets into a one-message batch (codec.h): header 6, then the type byte, seven u64, the flags.
constexpr std::size_t kTypeAt = 6;
constexpr std::size_t kFromAt = kTypeAt + 1;
constexpr std::size_t kFlagsAt = kTypeAt + 1 + 7 * 8;
constexpr std::size_t kEntryCountAt = kFlagsAt + 1 + 4;  // after an empty context

std::string Heartbeat() {
  Message m;
  m.type = MessageType::kHeartbeat;
  m.from = 1;
  m.to = 2;
  return EncodeBatch({m});
}

TEST(Codec, UnknownEnumsAndFlagsAreRefused) {
  std::string bytes = Heartbeat();
  bytes[kTypeAt] = static_cast<char>(static_cast<int>(MessageType::kTimeoutNow) + 1);
  EXPECT_FALSE(DecodeBatch(bytes));
  bytes = Heartbeat();
  bytes[kFlagsAt] = 8;
  EXPECT_FALSE(DecodeBatch(bytes));

  Message m;
  m.type = MessageType::kAppend;
  m.from = 1;
  m.to = 2;
  m.entries = {Entry{1, 1, EntryType::kNormal, ""}};
  bytes = EncodeBatch({m});
  bytes[kEntryCountAt + 4 + 16] = 9;  // the entry's type byte
  EXPECT_FALSE(DecodeBatch(bytes));
}

TEST(Codec, NodeIdZeroIsRefused) {
  std::string bytes = Heartbeat();
  bytes[kFromAt] = 0;
  EXPECT_FALSE(DecodeBatch(bytes));
}

// Forged counts larger than the body are refused before any allocation: a 20-byte request
// claiming 4 billion messages or entries costs nothing.
TEST(Codec, ForgedCountsAreRefusedBeforeAllocating) {
  std::string bytes = Heartbeat();
  for (int b = 0; b < 4; ++b) bytes[2 + static_cast<std::size_t>(b)] = '\xff';
  auto decoded = DecodeBatch(bytes);
  ASSERT_FALSE(decoded);
  EXPECT_NE(decoded.error().message.find("count exceeds"), std::string::npos);

  bytes = Heartbeat();
  for (int b = 0; b < 4; ++b) bytes[kEntryCountAt + static_cast<std::size_t>(b)] = '\xff';
  decoded = DecodeBatch(bytes);
  ASSERT_FALSE(decoded);
  EXPECT_NE(decoded.error().message.find("entry count exceeds"), std::string::npos);

  bytes = Heartbeat();
  for (int b = 0; b < 4; ++b) bytes[kFlagsAt + 1 + static_cast<std::size_t>(b)] = '\x7f';  // context length
  EXPECT_FALSE(DecodeBatch(bytes));
}

}  // namespace
}  // namespace raft::transport
