// libFuzzer target for configuration patches (worker/cluster/config_store.h): the JSON body of
// PUT /api/v1/config, checked by the proposer and again by every member when the patch applies.
//
// Input: the patch as JSON text (inputs that are not JSON are skipped: that parse belongs to the
// HTTP layer). The patch goes against the defaults, then against its own result. For every input it
// checks:
//   1. no crash, exception, leak or undefined behaviour;
//   2. an accepted result has exactly the default keys (unknown keys are refused, none go missing);
//   3. applying the same patch again changes nothing (idempotence: a patch proposed twice, or
//      applied after a retry, lands the same);
//   4. the result is itself a valid patch that reproduces itself: every stored value is already in
//      normal form (a member restoring it, or an administrator writing back what GET showed, gets
//      the same configuration);
//   5. ConfigStore applies the encoded patch command to the same configuration, its typed view
//      reads it, and a snapshot restores to it; a refused patch leaves the store unchanged.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tests/fuzz/fuzz_check.h"
#include "worker/cluster/config_store.h"

namespace {

using nlohmann::json;

bool SameKeys(const json& a, const json& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [key, value] : a.items()) {
    if (!b.contains(key)) return false;
  }
  return true;
}

// The store's path: the patch as a command, applied at index 1, snapshotted, restored elsewhere.
void CheckStore(const json& patch, const common::Expected<json, std::string>& expected) {
  cluster::ConfigStore store;
  const auto command = cluster::DecodeCommand(cluster::EncodeConfigPatch(patch));
  FUZZ_CHECK(command.has_value() && store.Owns(command->op()));
  const cluster::Outcome outcome = store.Apply(1, *command);
  if (!expected) {
    FUZZ_CHECK(!outcome && outcome.error().code == cluster::ErrorCode::kRefused);
    FUZZ_CHECK(store.config() == cluster::DefaultConfig() && store.version() == 0);
    return;
  }
  FUZZ_CHECK(outcome.has_value());
  FUZZ_CHECK(store.config() == *expected && store.version() == 1);
  (void)store.view();
  cluster::ConfigStore restored;
  restored.Restore(store.Snapshot());
  FUZZ_CHECK(restored.config() == *expected && restored.version() == 1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const json patch = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (patch.is_discarded()) return 0;

  const json defaults = cluster::DefaultConfig();
  const auto next = cluster::ValidateConfig(defaults, patch);
  CheckStore(patch, next);
  if (!next) {
    FUZZ_CHECK(!next.error().empty());
    return 0;
  }
  FUZZ_CHECK(SameKeys(*next, defaults));
  const auto again = cluster::ValidateConfig(*next, patch);
  FUZZ_CHECK(again.has_value() && *again == *next);
  const auto itself = cluster::ValidateConfig(defaults, *next);
  FUZZ_CHECK(itself.has_value() && *itself == *next);
  return 0;
}
