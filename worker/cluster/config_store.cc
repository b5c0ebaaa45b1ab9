#include "worker/cluster/config_store.h"

namespace cluster {
namespace {

using json = nlohmann::json;

struct ConfigKey {
  const char* name;
  std::int64_t min;
  std::int64_t max;
  std::int64_t default_value;
};

// Every key an administrator may set. Integers only, so that every member validates and applies
// them identically.
constexpr ConfigKey kConfigKeys[] = {
    {"default_lsb_bits", 1, 4, 1},                // embed/capacity depth when a request names none
    {"max_pixels", 64, 400'000'000, 40'000'000},  // largest image; --max-pixels caps it per member
    // The cover library (cover_library.h). One cover must fit a Raft message: the peer port takes
    // 16 MiB batches. The library is held in memory by every member, and must fit a snapshot
    // (the peer port takes 1 GiB).
    {"max_cover_bytes", 1024, 12 << 20, 8 << 20},
    {"max_covers", 1, 10'000, 1'000},
    {"max_library_bytes", 1 << 20, 768 << 20, 256 << 20},
    {"job_retention", 1, 100'000, 10'000},        // job records the ledger keeps (job_ledger.h)
};

}  // namespace

json DefaultConfig() {
  json c = json::object();
  for (const auto& k : kConfigKeys) c[k.name] = k.default_value;
  return c;
}

common::Expected<json, std::string> ValidateConfig(const json& current, const json& patch) {
  if (!patch.is_object()) return common::Unexpected<std::string>{"the configuration must be a JSON object"};
  json next = current;
  for (const auto& [key, value] : patch.items()) {
    const ConfigKey* known = nullptr;
    for (const auto& k : kConfigKeys) {
      if (key == k.name) known = &k;
    }
    if (!known) return common::Unexpected<std::string>{"unknown configuration key \"" + key + "\""};
    if (!value.is_number_integer() || value.get<std::int64_t>() < known->min ||
        value.get<std::int64_t>() > known->max) {
      return common::Unexpected<std::string>{key + " must be an integer in [" + std::to_string(known->min) +
                                             ", " + std::to_string(known->max) + "]"};
    }
    next[key] = value;
  }
  return next;
}

std::string EncodeConfigPatch(const json& patch) { return EncodeCommand({{"op", "patch_config"}, {"patch", patch}}); }

ConfigStore::ConfigStore() : config_(DefaultConfig()) {}

std::string ConfigStore::Apply(raft::Index index, const Command& command) {
  std::lock_guard lk(mu_);
  auto next = ValidateConfig(config_, command.header.value("patch", json()));
  if (!next) return next.error();
  config_ = std::move(*next);
  version_ = index;
  return {};
}

std::string ConfigStore::Snapshot() const {
  std::lock_guard lk(mu_);
  return json{{"config", config_}, {"version", version_}}.dump();
}

void ConfigStore::Restore(std::string_view data) {
  std::lock_guard lk(mu_);
  config_ = DefaultConfig();
  version_ = 0;
  if (data.empty()) return;
  const json j = json::parse(data);
  // Keys added since the snapshot was taken keep their defaults.
  config_.update(j.at("config"));
  version_ = j.at("version");
}

json ConfigStore::config() const {
  std::lock_guard lk(mu_);
  return config_;
}

std::int64_t ConfigStore::Get(const std::string& key) const {
  std::lock_guard lk(mu_);
  return config_.at(key).get<std::int64_t>();
}

raft::Index ConfigStore::version() const {
  std::lock_guard lk(mu_);
  return version_;
}

}  // namespace cluster
