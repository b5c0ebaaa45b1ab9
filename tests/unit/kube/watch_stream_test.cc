// The watch stream's framing and event decoding (operator/kube/watch_stream.h), without a server.
// The fuzz target tests/fuzz/watch_stream_fuzz.cc covers arbitrary bodies; these pin the behaviour
// a reader of the code expects, and the two malformed events the fuzzer turned up.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "operator/kube/watch_stream.h"

namespace {

struct Decoded {
  std::vector<kube::WatchEvent> events;
  kube::WatchEventDecoder decoder{"stegoclusters", "100"};
};

Decoded Decode(const std::vector<std::string>& pieces) {
  Decoded out;
  kube::WatchLineSplitter lines;
  for (const auto& piece : pieces) {
    lines.Feed(piece, [&](std::string_view line) {
      out.decoder.Decode(line, [&](kube::WatchEvent&& e) { out.events.push_back(std::move(e)); });
    });
  }
  return out;
}

TEST(WatchStreamTest, LinesAcrossPiecesBecomeEventsAndTheLastVersion) {
  const auto out = Decode({R"({"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"101"}}})"
                           "\n\n{\"type\":\"BOOKM",
                           R"(ARK","object":{"metadata":{"resourceVersion":"130"}}})" "\n"});
  ASSERT_EQ(out.events.size(), 2u);
  EXPECT_EQ(out.events[0].type, kube::WatchEventType::kAdded);
  EXPECT_EQ(out.events[1].type, kube::WatchEventType::kBookmark);
  EXPECT_EQ(out.decoder.last_version(), "130");
  EXPECT_FALSE(out.decoder.error());
}

TEST(WatchStreamTest, ErrorEventEndsTheStreamWithTheStatus) {
  const auto out = Decode({R"({"type":"ERROR","object":{"kind":"Status","reason":"Expired","code":410}})" "\n"
                           R"({"type":"ADDED","object":{}})" "\n"});
  EXPECT_TRUE(out.events.empty());
  ASSERT_TRUE(out.decoder.error());
  EXPECT_TRUE(out.decoder.error()->Gone());
  EXPECT_EQ(out.decoder.last_version(), "100");
}

// Found by the fuzzer: json::value() threw type_error when "type" was not a string.
TEST(WatchStreamTest, TypeThatIsNotAStringIsAnUnreadableEvent) {
  const auto out = Decode({R"({"type":{"kind":"StegoCluster"},"object":{}})" "\n"});
  EXPECT_TRUE(out.events.empty());
  ASSERT_TRUE(out.decoder.error());
  EXPECT_EQ(out.decoder.error()->reason, "InvalidResponse");
}

// The same kind of throw for a resourceVersion that is not a string: the event is delivered, the
// version it does not have is not recorded, and the object is handed on unchanged.
TEST(WatchStreamTest, ResourceVersionThatIsNotAStringIsIgnored) {
  const auto out = Decode({R"({"type":"MODIFIED","object":{"metadata":{"resourceVersion":5}}})" "\n"
                           R"({"type":"ADDED","object":{"kind":"x"}})" "\n"});
  ASSERT_EQ(out.events.size(), 2u);
  EXPECT_EQ(out.decoder.last_version(), "100");
  EXPECT_EQ(out.events[1].object, (nlohmann::json{{"kind", "x"}}));
  EXPECT_FALSE(out.decoder.error());
}

}  // namespace
