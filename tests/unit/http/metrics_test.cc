#include "common/metrics.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <thread>
#include <vector>

#include "tests/support/prometheus_text.h"

namespace common {
namespace {

testsupport::PromText ParseOrFail(const std::string& text) {
  std::string error;
  auto parsed = testsupport::ParsePromText(text, &error);
  EXPECT_TRUE(parsed) << error << "\n" << text;
  return parsed.value_or(testsupport::PromText{});
}

TEST(MetricsTest, RendersCountersAndGaugesWithHelpAndType) {
  Metrics m;
  auto& requests = m.CounterFamily("http_requests_total", "Requests served.", {"route", "status"});
  requests.WithLabels({"embed", "200"}).Inc();
  requests.WithLabels({"embed", "200"}).Inc(2);
  requests.WithLabels({"capacity", "400"}).Inc();
  m.GetGauge("queue_depth", "Jobs waiting.").Set(3);
  m.GetCounter("bytes_total", "Bytes.").Inc(1.5);

  const std::string text = m.Render();
  EXPECT_EQ(text,
            "# HELP bytes_total Bytes.\n"
            "# TYPE bytes_total counter\n"
            "bytes_total 1.5\n"
            "# HELP http_requests_total Requests served.\n"
            "# TYPE http_requests_total counter\n"
            "http_requests_total{route=\"capacity\",status=\"400\"} 1\n"
            "http_requests_total{route=\"embed\",status=\"200\"} 3\n"
            "# HELP queue_depth Jobs waiting.\n"
            "# TYPE queue_depth gauge\n"
            "queue_depth 3\n");
  ParseOrFail(text);
}

TEST(MetricsTest, HistogramBucketsAreCumulativeWithSumAndCount) {
  Metrics m;
  auto& h = m.HistogramFamily("latency_seconds", "Latency.", {"route"}, {0.1, 1});
  h.WithLabels({"a"}).Observe(0.05);
  h.WithLabels({"a"}).Observe(0.1);  // bounds are inclusive
  h.WithLabels({"a"}).Observe(0.5);
  h.WithLabels({"a"}).Observe(7);
  const std::string text = m.Render();
  EXPECT_EQ(text,
            "# HELP latency_seconds Latency.\n"
            "# TYPE latency_seconds histogram\n"
            "latency_seconds_bucket{route=\"a\",le=\"0.1\"} 2\n"
            "latency_seconds_bucket{route=\"a\",le=\"1\"} 3\n"
            "latency_seconds_bucket{route=\"a\",le=\"+Inf\"} 4\n"
            "latency_seconds_sum{route=\"a\"} 7.65\n"
            "latency_seconds_count{route=\"a\"} 4\n");
  ParseOrFail(text);
}

TEST(MetricsTest, EscapesLabelValuesAndHelp) {
  Metrics m;
  m.CounterFamily("c_total", "Help with \\ and\nnewline.", {"path"}).WithLabels({"a\"b\\c\nd"}).Inc();
  const std::string text = m.Render();
  EXPECT_NE(text.find("# HELP c_total Help with \\\\ and\\nnewline.\n"), std::string::npos) << text;
  EXPECT_NE(text.find("c_total{path=\"a\\\"b\\\\c\\nd\"} 1\n"), std::string::npos) << text;
  auto parsed = ParseOrFail(text);
  EXPECT_EQ(parsed.Value("c_total", {{"path", "a\"b\\c\nd"}}), 1.0) << "round trip through the escaping";
}

TEST(MetricsTest, RegistrationIsIdempotentButShapeChecked) {
  Metrics m;
  auto& a = m.CounterFamily("x_total", "X.", {"k"});
  auto& b = m.CounterFamily("x_total", "X again.", {"k"});
  EXPECT_EQ(&a, &b);
  EXPECT_EQ(&a.WithLabels({"v"}), &b.WithLabels({"v"})) << "series references are stable";
  EXPECT_THROW(m.CounterFamily("x_total", "X.", {"other"}), std::invalid_argument);
  EXPECT_THROW(m.GaugeFamily("x_total", "X.", {"k"}), std::invalid_argument);
  EXPECT_THROW(a.WithLabels({"v", "extra"}), std::invalid_argument);
  m.HistogramFamily("h", "H.", {}, {1, 2});
  EXPECT_THROW(m.HistogramFamily("h", "H.", {}, {1, 3}), std::invalid_argument);
  EXPECT_THROW(m.HistogramFamily("h2", "H.", {"le"}, {1}), std::invalid_argument);
  EXPECT_THROW(m.HistogramFamily("h3", "H.", {}, {2, 1}), std::invalid_argument);
  EXPECT_THROW(m.GetCounter("9bad", "B."), std::invalid_argument);
  EXPECT_THROW(m.GetCounter("bad-name", "B."), std::invalid_argument);
  EXPECT_THROW(m.CounterFamily("ok", "B.", {"bad-label"}), std::invalid_argument);
  EXPECT_THROW(m.CounterFamily("ok2", "B.", {"__reserved"}), std::invalid_argument);
  EXPECT_THROW(m.CounterFamily("ok3", "B.", {"a", "a"}), std::invalid_argument);
}

TEST(MetricsTest, CountersIgnoreNegativeIncrementsGaugesGoBothWays) {
  Metrics m;
  auto& c = m.GetCounter("c_total", "C.");
  c.Inc(2);
  c.Inc(-1);
  EXPECT_EQ(c.Value(), 2);
  auto& g = m.GetGauge("g", "G.");
  g.Inc(5);
  g.Dec(7);
  EXPECT_EQ(g.Value(), -2);
}

TEST(MetricsTest, ConcurrentObservationsAreAllCounted) {
  Metrics m;
  auto& family = m.CounterFamily("hits_total", "Hits.", {"worker"});
  auto& h = m.GetHistogram("obs", "Obs.", {1, 10});
  constexpr int kThreads = 8, kPerThread = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        family.WithLabels({std::to_string(t % 2)}).Inc();  // lookups race with first-use inserts
        h.Observe(i % 3);
        if (i % 5000 == 0) (void)m.Render();                // rendering races with observations
      }
    });
  }
  for (auto& t : threads) t.join();
  auto parsed = ParseOrFail(m.Render());
  EXPECT_EQ(parsed.Sum("hits_total"), kThreads * kPerThread);
  EXPECT_EQ(parsed.Value("obs_count"), kThreads * kPerThread);
}

TEST(PromTextTest, RejectsMalformedExposition) {
  std::string error;
  EXPECT_FALSE(testsupport::ParsePromText("x 1\n", &error)) << "sample before TYPE";
  EXPECT_FALSE(testsupport::ParsePromText("# TYPE x counter\nx{a=\"b} 1\n", &error));
  EXPECT_FALSE(testsupport::ParsePromText("# TYPE x counter\nx one\n", &error));
  EXPECT_FALSE(testsupport::ParsePromText("# TYPE x counter\nx 1", &error)) << "no final newline";
  EXPECT_FALSE(testsupport::ParsePromText("# TYPE x counter\nx 1\n# TYPE y gauge\ny 1\nx{a=\"1\"} 2\n", &error))
      << "family not contiguous";
  EXPECT_FALSE(testsupport::ParsePromText(
      "# TYPE h histogram\nh_bucket{le=\"1\"} 3\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 2\n", &error))
      << "not cumulative";
  EXPECT_FALSE(testsupport::ParsePromText("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n", &error));
  EXPECT_TRUE(testsupport::ParsePromText("# TYPE x counter\nx 1\n", &error)) << error;
}

}  // namespace
}  // namespace common
