// libFuzzer target for the replicated state's command decoder (worker/cluster/command.h): every
// committed log entry goes through DecodeCommand on every member, whoever proposed it.
//
// Input: the entry payload (JSON header, then optionally NUL and a blob). For every input it checks:
//   1. no crash, exception, leak or undefined behaviour (nlohmann::json runs without exceptions
//      here; any that escapes aborts the fuzzer);
//   2. a decoded command has an object header with a string "op", and its blob is exactly the bytes
//      after the first NUL of the input;
//   3. encode then decode gives the same header and blob (the round trip every proposal takes);
//   4. WithRequestKey keeps op, header fields and blob, and RequestKeyOf reads the key back; an
//      undecodable payload comes back from WithRequestKey unchanged.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "tests/fuzz/fuzz_check.h"
#include "worker/cluster/command.h"

namespace {

void CheckRoundTrip(const cluster::Command& command) {
  const std::string encoded = cluster::EncodeCommand(command.header, command.blob);  // again->blob points into it
  const auto again = cluster::DecodeCommand(encoded);
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK(again->header == command.header);
  FUZZ_CHECK(again->blob == command.blob);
}

void CheckRequestKey(std::string_view payload, const cluster::Command& command) {
  const cluster::RequestKey key{"fuzz-key", "fuzz-digest"};
  const std::string keyed = cluster::WithRequestKey(payload, key);
  const auto decoded = cluster::DecodeCommand(keyed);
  FUZZ_CHECK(decoded.has_value());
  FUZZ_CHECK(decoded->op() == command.op());
  FUZZ_CHECK(decoded->blob == command.blob);
  const auto read = cluster::RequestKeyOf(*decoded);
  FUZZ_CHECK(read.has_value() && read->key == key.key && read->digest == key.digest);
  nlohmann::json without = decoded->header;
  without.erase("request");
  nlohmann::json original = command.header;
  original.erase("request");
  FUZZ_CHECK(without == original);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view payload(reinterpret_cast<const char*>(data), size);
  const auto command = cluster::DecodeCommand(payload);
  if (!command) {
    FUZZ_CHECK(cluster::WithRequestKey(payload, {"k", "d"}) == payload);
    return 0;
  }
  FUZZ_CHECK(command->header.is_object() && command->header.at("op").is_string());
  const std::size_t nul = payload.find('\0');
  FUZZ_CHECK(command->blob == (nul == std::string_view::npos ? std::string_view() : payload.substr(nul + 1)));
  (void)cluster::RequestKeyOf(*command);  // must not throw, whatever "request" holds
  CheckRoundTrip(*command);
  CheckRequestKey(payload, *command);
  return 0;
}
