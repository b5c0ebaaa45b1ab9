#include "worker/raft/transport/codec.h"

#include <memory>
#include <string>

#include "worker/raft/wire.h"

namespace raft::transport {
namespace {

constexpr std::uint8_t kMagic = 'R';
constexpr std::uint8_t kVersion = 1;
constexpr std::uint8_t kReject = 1, kLeaderTransfer = 2, kHasSnapshot = 4;
constexpr std::uint8_t kKnownFlags = kReject | kLeaderTransfer | kHasSnapshot;

constexpr std::uint64_t kHeaderSize = 2 + 4;
constexpr std::uint64_t kMessageFixedSize = 1 + 7 * 8 + 1 + 4 + 4;  // + context + entries
constexpr std::uint64_t kEntryFixedSize = 8 + 8 + 1 + 4;             // + data
constexpr std::uint64_t kSnapshotFixedSize = 8 + 8 + 4 + 4 + 4;      // + ids + data

void PutEntry(std::string& out, const Entry& e) {
  wire::PutFixed(out, e.term, 8);
  wire::PutFixed(out, e.index, 8);
  wire::PutFixed(out, static_cast<std::uint8_t>(e.type), 1);
  wire::PutBytes(out, e.data);
}

void PutMessage(std::string& out, const Message& m) {
  wire::PutFixed(out, static_cast<std::uint8_t>(m.type), 1);
  for (std::uint64_t v : {m.from, m.to, m.term, m.log_term, m.index, m.commit, m.reject_hint}) {
    wire::PutFixed(out, v, 8);
  }
  const std::uint8_t flags = (m.reject ? kReject : 0) | (m.leader_transfer ? kLeaderTransfer : 0) |
                             (m.snapshot ? kHasSnapshot : 0);
  wire::PutFixed(out, flags, 1);
  wire::PutBytes(out, m.context);
  wire::PutFixed(out, m.entries.size(), 4);
  for (const Entry& e : m.entries) PutEntry(out, e);
  if (m.snapshot) {
    const Snapshot& s = *m.snapshot;
    wire::PutFixed(out, s.meta.index, 8);
    wire::PutFixed(out, s.meta.term, 8);
    wire::PutIds(out, s.meta.conf.voters);
    wire::PutIds(out, s.meta.conf.learners);
    wire::PutBytes(out, s.data);
  }
}

bool ReadEntry(wire::Reader& r, Entry& e) {
  e.term = r.Fixed(8);
  e.index = r.Fixed(8);
  const auto type = r.Fixed(1);
  e.data = std::string(r.Bytes());
  e.type = static_cast<EntryType>(type);
  return r.ok() && type <= static_cast<std::uint8_t>(EntryType::kConfChange);
}

// Why message `m` could not be read, or empty on success.
std::string ReadMessage(wire::Reader& r, Message& m) {
  const auto type = r.Fixed(1);
  if (!r.ok() || type > static_cast<std::uint8_t>(MessageType::kTimeoutNow)) return "unknown type";
  m.type = static_cast<MessageType>(type);
  for (std::uint64_t* v : {&m.from, &m.to, &m.term, &m.log_term, &m.index, &m.commit,
                           &m.reject_hint}) {
    *v = r.Fixed(8);
  }
  const auto flags = r.Fixed(1);
  if (flags & ~std::uint64_t{kKnownFlags}) return "unknown flags";
  m.reject = flags & kReject;
  m.leader_transfer = flags & kLeaderTransfer;
  m.context = std::string(r.Bytes());
  const auto n = r.Fixed(4);
  if (!r.ok() || r.remaining() / kEntryFixedSize < n) return "entry count exceeds the body";
  m.entries.resize(n);
  for (Entry& e : m.entries) {
    if (!ReadEntry(r, e)) return "malformed entry";
  }
  if (flags & kHasSnapshot) {
    auto s = std::make_shared<Snapshot>();
    s->meta.index = r.Fixed(8);
    s->meta.term = r.Fixed(8);
    s->meta.conf.voters = r.Ids();
    s->meta.conf.learners = r.Ids();
    s->data = std::string(r.Bytes());
    m.snapshot = std::move(s);
  }
  if (!r.ok()) return "truncated";
  if (m.from == kNone || m.to == kNone) return "node id 0";
  return {};
}

}  // namespace

std::uint64_t EncodedSize(const Message& m) {
  std::uint64_t n = kMessageFixedSize + m.context.size();
  for (const Entry& e : m.entries) n += kEntryFixedSize + e.data.size();
  if (m.snapshot) {
    const Snapshot& s = *m.snapshot;
    n += kSnapshotFixedSize + 8 * (s.meta.conf.voters.size() + s.meta.conf.learners.size()) +
         s.data.size();
  }
  return n;
}

std::string EncodeBatch(const std::vector<Message>& messages) {
  std::uint64_t size = kHeaderSize;
  for (const Message& m : messages) size += EncodedSize(m);
  std::string out;
  out.reserve(size);
  wire::PutFixed(out, kMagic, 1);
  wire::PutFixed(out, kVersion, 1);
  wire::PutFixed(out, messages.size(), 4);
  for (const Message& m : messages) PutMessage(out, m);
  return out;
}

Result<std::vector<Message>> DecodeBatch(std::string_view bytes) {
  wire::Reader r(bytes);
  const auto magic = r.Fixed(1);
  const auto version = r.Fixed(1);
  const auto count = r.Fixed(4);
  if (!r.ok() || magic != kMagic) return Fail(ErrorCode::kInvalidMessage, "not a Raft message batch");
  if (version != kVersion) {
    return Fail(ErrorCode::kInvalidMessage,
                "unsupported batch version " + std::to_string(version) + " (we speak " +
                    std::to_string(kVersion) + ")");
  }
  if (r.remaining() / kMessageFixedSize < count) {
    return Fail(ErrorCode::kInvalidMessage, "message count exceeds the body");
  }
  std::vector<Message> messages(count);
  for (std::size_t i = 0; i < messages.size(); ++i) {
    if (std::string why = ReadMessage(r, messages[i]); !why.empty()) {
      return Fail(ErrorCode::kInvalidMessage, "message " + std::to_string(i) + ": " + why);
    }
  }
  if (!r.done()) return Fail(ErrorCode::kInvalidMessage, "trailing bytes after the last message");
  return messages;
}

}  // namespace raft::transport
