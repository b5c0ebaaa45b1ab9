// Small helpers shared by the tests that run real processes: a free loopback port, and polling
// for a condition with a deadline.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string_view>
#include <thread>
#include <vector>

namespace testsupport {

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released), for
// processes that must be told their port up front (members that advertise it to each other).
std::uint16_t FreeLoopbackPort();

// Runs `start`, which starts processes told their FreeLoopbackPort() ports up front. Such a port
// comes from the kernel's ephemeral range, so an outgoing connection of a test running beside can
// take it before the process binds it: when `start` throws "Address already in use" (as
// ProcessUnderTest does when its child exits before listening), runs `repick` (stop what started,
// choose fresh ports) and tries again, three times at most; other failures are rethrown.
void StartRetryingTakenPorts(const std::function<void()>& start, const std::function<void()>& repick);

// An empty directory under $TMPDIR named after the process and `test`, for one test's data
// directories (removed first if a crashed earlier run left it).
std::filesystem::path FreshScratchDirectory(std::string_view prefix, std::string_view test);

// Standard base64 (the API's *_b64 fields) to bytes; throws std::invalid_argument on bad input.
std::string FromBase64(const std::string& text);

// The p-th percentile (0..100) of `values`, nearest rank; 0 when there are none.
double Percentile(std::vector<double> values, double p);

// `limit` times $STEGO_TEST_TIME_SCALE (a positive integer, default 1), for deadlines of waits for
// a condition: the sanitizer runs set it (tests/sanitize/run.sh), since an instrumented worker
// starts and answers several times slower. A test's own timings (fault lengths, rate windows) are
// not waits and stay unscaled.
std::chrono::milliseconds ScaledWait(std::chrono::milliseconds limit);

// Polls `condition` every 20 ms until it holds or ScaledWait(`limit`) passes; returns its last value.
template <class F>
bool Eventually(F condition, std::chrono::milliseconds limit = std::chrono::seconds(15)) {
  const auto deadline = std::chrono::steady_clock::now() + ScaledWait(limit);
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

}  // namespace testsupport
