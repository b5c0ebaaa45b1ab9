// Command: one entry of the replicated state's log — a JSON header naming the operation ("op")
// and its small fields, and an optional opaque blob for bulk bytes (a cover image), so that large
// payloads are never base64-inflated or re-parsed as JSON on every member.
//
// Encoding: the header's compact JSON, then, when there is a blob, a NUL byte and the blob. JSON
// text never contains a raw NUL (dump() escapes control characters), so the split is unambiguous.
//
// A proposed command also carries its request key in the header ("request": {key, digest}): what
// makes a write proposed twice take effect once (request_log.h).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace cluster {

struct Command {
  nlohmann::json header;  // an object with a string "op"
  std::string_view blob;  // points into the decoded payload
  std::string op() const { return header["op"].get<std::string>(); }
};

// Names one write for deduplication: `key` is unique per request (a member's random draw, or the
// client's Idempotency-Key); `digest` tells two requests that claim the same key apart.
struct RequestKey {
  std::string key;
  std::string digest;
};

std::string EncodeCommand(const nlohmann::json& header, std::string_view blob = {});
// nullopt for anything that is not a header object with a string "op".
std::optional<Command> DecodeCommand(std::string_view payload);

// `command` (an encoded command) with `request` in its header.
std::string WithRequestKey(std::string_view command, const RequestKey& request);
// The request key a command carries, if any.
std::optional<RequestKey> RequestKeyOf(const Command& command);

}  // namespace cluster
