// The clients of the linearizability tests: threads that keep operating on the replicated state
// (the configuration, the cover library, the API keys) through randomly chosen members, and write
// every operation to one History as the checker (checker/, Porcupine) reads it; and a probe of
// the stego API that only counts answers, for the availability figures.
//
// An operation's outcome is what its answer proves: a 2xx, or an error that names the state
// (404 no such cover or key, 409 name taken / already deleted). Anything else (a timeout, 503,
// 504, a dropped connection, an answer from a stopped member after it resumed) is "unknown": the
// write may or may not have taken effect, and the checker allows both. Reads that fail are left
// out: they observed nothing.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace lintest {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// What the clients need to reach the cluster.
struct Target {
  std::map<std::string, std::uint16_t> http_ports;  // member name -> API port
  std::string admin_key;
  std::vector<std::string> cover_pngs;  // the covers the covers client uploads and deletes
};

// Every operation of every client, with call and return times in nanoseconds since the History
// began (one monotonic clock).
class History {
 public:
  std::int64_t Now() const;
  std::int64_t Since(Clock::time_point t) const;
  void Add(json op);
  std::size_t size() const;
  // {"initial_config": ..., "ops": [...]}, the checker's input.
  json Json(std::int64_t initial_config) const;

 private:
  const Clock::time_point start_ = Clock::now();
  mutable std::mutex mu_;
  std::vector<json> ops_;
};

// One answer of the stego probe.
struct ProbeSample {
  std::int64_t sent = 0;  // History::Now() at the call
  std::string member;
  bool ok = false;
};

// The client threads; they start at construction and stop with Stop() (or the destructor).
class Workload {
 public:
  Workload(Target target, History& history, std::uint64_t seed);
  ~Workload();
  Workload(const Workload&) = delete;
  Workload& operator=(const Workload&) = delete;

  void Stop();
  std::vector<ProbeSample> probes() const;

 private:
  void RunConfig(int client, std::uint64_t seed);
  void RunCovers(int client, std::uint64_t seed);
  void RunKeys(int client, std::uint64_t seed);
  void RunProbe(std::uint64_t seed);

  const Target target_;
  History& history_;
  std::atomic<bool> stop_ = false;
  mutable std::mutex probe_mu_;
  std::vector<ProbeSample> probes_;
  std::vector<std::thread> threads_;  // last: they start once the rest is built
};

// Reads max_pixels through `member` (not through a client thread), for the history's initial
// value; throws when it does not answer 200.
std::int64_t ReadMaxPixels(const Target& target, const std::string& member);

}  // namespace lintest
