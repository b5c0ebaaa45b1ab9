// The peer wire format: a batch of Raft messages as one byte string (the body of a peer request).
//
// Version 1, little-endian fixed width (wire.h):
//   batch   = u8 'R' | u8 version | u32 count | count * message
//   message = u8 type | u64 from | u64 to | u64 term | u64 log_term | u64 index | u64 commit
//             | u64 reject_hint | u8 flags (1 reject, 2 leader_transfer, 4 snapshot follows)
//             | bytes context | u32 n | n * entry | [snapshot]
//   entry   = u64 term | u64 index | u8 type | bytes data
//   snapshot= u64 index | u64 term | ids voters | ids learners | bytes data
//
// Decoding trusts nothing: every count and length is checked against the bytes actually left
// before anything is allocated, enums are range-checked, and trailing bytes are an error. A peer
// (or anyone who got past authentication) cannot make us allocate more than it sent.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "worker/raft/message.h"
#include "worker/raft/types.h"

namespace raft::transport {

std::string EncodeBatch(const std::vector<Message>& messages);

// kInvalidMessage with what was wrong, naming the message's position in the batch.
Result<std::vector<Message>> DecodeBatch(std::string_view bytes);

// Encoded size of one message, without building it: the sender's batching budget.
std::uint64_t EncodedSize(const Message& m);

}  // namespace raft::transport
