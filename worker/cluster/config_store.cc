#include "worker/cluster/config_store.h"

#include <algorithm>

#include "worker/http/cors.h"

namespace cluster {
namespace {

using json = nlohmann::json;

struct ConfigKey {
  const char* name;
  std::int64_t min;
  std::int64_t max;
  std::int64_t default_value;
};

// The integer keys an administrator may set, each with its range.
constexpr ConfigKey kConfigKeys[] = {
    // Embed/capacity depth when a request names none: the engine's range (stego::kMinLsbBits..
    // kMaxLsbBits; worker/cluster knows nothing of stego, tests/unit/api/tunables_test.cc holds them equal).
    {"default_lsb_bits", 1, 4, 1},
    {"max_pixels", 64, 400'000'000, 40'000'000},  // largest image; --max-pixels caps it per member
    // The cover library (cover_library.h). One cover must fit a Raft message: the peer port takes
    // 16 MiB batches. The library is held in memory by every member, and must fit a snapshot
    // (the peer port takes 1 GiB).
    {"max_cover_bytes", 1024, 12 << 20, 8 << 20},
    {"max_covers", 1, 10'000, 1'000},
    {"max_library_bytes", 1 << 20, 768 << 20, 256 << 20},
    {"job_retention", 1, 100'000, 10'000},        // job records the ledger keeps (job_ledger.h)
};

// Keys whose value is a list of strings (default: empty). Each item is checked and normalized
// by a pure function, so that every member stores the same list.
struct ListKey {
  const char* name;
  std::size_t max_items;
  common::Expected<std::string, std::string> (*normalize)(std::string_view item);
};

constexpr ListKey kListKeys[] = {
    // Origins whose pages may call the API (http/cors.h), besides each member's --cors-origins.
    {"cors_origins", 64, &http::NormalizeOrigin},
};

template <class Key, std::size_t N>
const Key* Find(const Key (&keys)[N], const std::string& name) {
  for (const auto& k : keys) {
    if (name == k.name) return &k;
  }
  return nullptr;
}

common::Expected<json, std::string> CheckInteger(const ConfigKey& key, const json& value) {
  if (!value.is_number_integer() || value.get<std::int64_t>() < key.min || value.get<std::int64_t>() > key.max) {
    return common::Unexpected<std::string>{std::string(key.name) + " must be an integer in [" +
                                           std::to_string(key.min) + ", " + std::to_string(key.max) + "]"};
  }
  return value;
}

// The list normalized, without repeats, or what is wrong with it.
common::Expected<json, std::string> CheckList(const ListKey& key, const json& value) {
  const std::string shape = std::string(key.name) + " must be an array of at most " +
                            std::to_string(key.max_items) + " strings";
  if (!value.is_array() || value.size() > key.max_items) return common::Unexpected<std::string>{shape};
  json items = json::array();
  for (const auto& item : value) {
    if (!item.is_string()) return common::Unexpected<std::string>{shape};
    auto normalized = key.normalize(item.get<std::string>());
    if (!normalized) return common::Unexpected<std::string>{std::string(key.name) + ": " + normalized.error()};
    if (std::find(items.begin(), items.end(), *normalized) == items.end()) items.push_back(std::move(*normalized));
  }
  return items;
}

common::Expected<json, std::string> CheckValue(const std::string& key, const json& value) {
  if (const ConfigKey* integer = Find(kConfigKeys, key)) return CheckInteger(*integer, value);
  if (const ListKey* list = Find(kListKeys, key)) return CheckList(*list, value);
  return common::Unexpected<std::string>{"unknown configuration key \"" + key + "\""};
}

}  // namespace

json DefaultConfig() {
  json c = json::object();
  for (const auto& k : kConfigKeys) c[k.name] = k.default_value;
  for (const auto& k : kListKeys) c[k.name] = json::array();
  return c;
}

common::Expected<json, std::string> ValidateConfig(const json& current, const json& patch) {
  if (!patch.is_object()) return common::Unexpected<std::string>{"the configuration must be a JSON object"};
  json next = current;
  for (const auto& [key, value] : patch.items()) {
    auto checked = CheckValue(key, value);
    if (!checked) return checked;
    next[key] = std::move(*checked);
  }
  return next;
}

std::string EncodeConfigPatch(const json& patch) { return EncodeCommand({{"op", "patch_config"}, {"patch", patch}}); }

namespace {

// The one place that reads the configuration by key.
ClusterConfig Typed(const json& c) {
  auto integer = [&](const char* key) { return c.at(key).get<std::int64_t>(); };
  return {.default_lsb_bits = static_cast<int>(integer("default_lsb_bits")),
          .max_pixels = static_cast<std::uint64_t>(integer("max_pixels")),
          .max_cover_bytes = static_cast<std::uint64_t>(integer("max_cover_bytes")),
          .max_covers = static_cast<std::uint64_t>(integer("max_covers")),
          .max_library_bytes = static_cast<std::uint64_t>(integer("max_library_bytes")),
          .job_retention = static_cast<std::uint64_t>(integer("job_retention")),
          .cors_origins = c.at("cors_origins").get<std::vector<std::string>>()};
}

}  // namespace

ConfigStore::ConfigStore() { Set(DefaultConfig(), 0); }

void ConfigStore::Set(json config, raft::Index version) {
  view_ = Typed(config);
  config_ = std::move(config);
  version_ = version;
}

Outcome ConfigStore::Apply(raft::Index index, const Command& command) {
  std::lock_guard lk(mu_);
  auto next = ValidateConfig(config_, command.header.value("patch", json()));
  if (!next) return Refuse(next.error());
  Set(std::move(*next), index);
  return {};
}

std::string ConfigStore::Snapshot() const {
  std::lock_guard lk(mu_);
  return json{{"config", config_}, {"version", version_}}.dump();
}

void ConfigStore::Restore(std::string_view data) {
  std::lock_guard lk(mu_);
  json config = DefaultConfig();
  raft::Index version = 0;
  if (!data.empty()) {
    const json j = json::parse(data);
    // Keys added since the snapshot was taken keep their defaults.
    config.update(j.at("config"));
    version = j.at("version");
  }
  Set(std::move(config), version);
}

json ConfigStore::config() const {
  std::lock_guard lk(mu_);
  return config_;
}

ClusterConfig ConfigStore::view() const {
  std::lock_guard lk(mu_);
  return view_;
}

raft::Index ConfigStore::version() const {
  std::lock_guard lk(mu_);
  return version_;
}

}  // namespace cluster
