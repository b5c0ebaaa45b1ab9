// libFuzzer target for the Kubernetes watch-stream decoder (operator/kube/watch_stream.h): the
// body of a watch answer, cut into lines (WatchLineSplitter) and decoded into events
// (WatchEventDecoder), as the operator's informers read it from the API server.
//
// Input: the stream body. For every input it checks:
//   1. no crash, exception, leak or undefined behaviour (whatever JSON a line holds);
//   2. split invariance: the body fed in pieces (byte by byte, and at split points drawn from the
//      input) gives exactly the events, error, last resourceVersion and held-back bytes of one Feed;
//   3. the held-back bytes are exactly those after the last '\n' (a line is delivered once complete);
//   4. after an error no event is delivered, and every event carries an object.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "operator/kube/watch_stream.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/split_points.h"

namespace {

struct Decoded {
  std::vector<kube::WatchEvent> events;
  std::optional<kube::ApiError> error;
  std::string last_version;
  std::size_t pending_bytes = 0;
};

Decoded DecodeInPieces(std::string_view body, const std::vector<std::size_t>& cuts) {
  kube::WatchLineSplitter lines;
  kube::WatchEventDecoder decoder("stegoclusters.stego.example.com", "100");
  Decoded out;
  const auto on_event = [&](kube::WatchEvent&& event) {
    FUZZ_CHECK(!decoder.error());
    FUZZ_CHECK(event.object.is_object());
    out.events.push_back(std::move(event));
  };
  fuzz::FeedInPieces(body, cuts, [&](std::string_view piece) {
    lines.Feed(piece, [&](std::string_view line) { decoder.Decode(line, on_event); });
    return true;
  });
  out.error = decoder.error();
  out.last_version = decoder.last_version();
  out.pending_bytes = lines.pending_bytes();
  return out;
}

bool SameError(const std::optional<kube::ApiError>& a, const std::optional<kube::ApiError>& b) {
  if (a.has_value() != b.has_value()) return false;
  return !a || (a->http_status == b->http_status && a->reason == b->reason && a->message == b->message);
}

bool SameEvents(const std::vector<kube::WatchEvent>& a, const std::vector<kube::WatchEvent>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].type != b[i].type || a[i].object != b[i].object) return false;
  }
  return true;
}

void CheckSame(const Decoded& whole, const Decoded& split) {
  FUZZ_CHECK(SameEvents(whole.events, split.events));
  FUZZ_CHECK(SameError(whole.error, split.error));
  FUZZ_CHECK(whole.last_version == split.last_version);
  FUZZ_CHECK(whole.pending_bytes == split.pending_bytes);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const Decoded whole = DecodeInPieces(body, {});
  const std::size_t last_newline = body.rfind('\n');
  FUZZ_CHECK(whole.pending_bytes == (last_newline == std::string_view::npos ? size : size - last_newline - 1));

  if (size <= 1024) CheckSame(whole, DecodeInPieces(body, fuzz::EveryByte(size)));
  CheckSame(whole, DecodeInPieces(body, fuzz::HashedSplitPoints(body, size)));
  return 0;
}
