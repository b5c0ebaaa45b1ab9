#include "worker/cluster/job_ledger.h"

#include <spdlog/spdlog.h>

namespace cluster {
namespace {

using json = nlohmann::json;

// Bounds on a record's strings, so that a damaged or hostile entry cannot make every member hold
// megabytes per record. 128 is the longest request id the HTTP server accepts.
constexpr std::size_t kMaxIdBytes = 128;
constexpr std::size_t kMaxNameBytes = 255;
constexpr std::size_t kMaxWordBytes = 64;  // kinds, statuses, error codes

std::optional<std::string> Text(const json& j, const char* key, std::size_t max_bytes) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  const auto& s = it->get_ref<const std::string&>();
  if (s.empty() || s.size() > max_bytes) return std::nullopt;
  return s;
}

std::optional<std::uint64_t> Count(const json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) return std::nullopt;
  if (!it->is_number_unsigned() && it->get<std::int64_t>() < 0) return std::nullopt;
  return it->get<std::uint64_t>();
}

}  // namespace

json JobJson(const JobRecord& job) {
  json j = {{"id", job.id},
            {"kind", job.kind},
            {"member", job.member},
            {"started_at", job.started_at_ms},
            {"duration_ms", job.duration_ms},
            {"input_bytes", job.input_bytes},
            {"output_bytes", job.output_bytes},
            {"status", job.error.empty() ? "ok" : "error"},
            {"http_status", job.http_status}};
  if (!job.error.empty()) j["error"] = job.error;
  return j;
}

std::optional<JobRecord> JobFromJson(const json& j) {
  if (!j.is_object()) return std::nullopt;
  auto id = Text(j, "id", kMaxIdBytes);
  auto kind = Text(j, "kind", kMaxWordBytes);
  auto member = Text(j, "member", kMaxNameBytes);
  const auto started_at = Count(j, "started_at");
  const auto duration = Count(j, "duration_ms");
  const auto input = Count(j, "input_bytes");
  const auto output = Count(j, "output_bytes");
  const auto http_status = Count(j, "http_status");
  const auto status = Text(j, "status", kMaxWordBytes);
  if (!id || !kind || !member || !started_at || !duration || !input || !output || !http_status || !status ||
      *http_status < 100 || *http_status > 599) {
    return std::nullopt;
  }
  // "ok" carries no error code; "error" must name one.
  auto error = Text(j, "error", kMaxWordBytes);
  const bool consistent = *status == "ok" ? !j.contains("error") : *status == "error" && error.has_value();
  if (!consistent) return std::nullopt;
  return JobRecord{.id = std::move(*id),
                   .kind = std::move(*kind),
                   .member = std::move(*member),
                   .started_at_ms = *started_at,
                   .duration_ms = *duration,
                   .input_bytes = *input,
                   .output_bytes = *output,
                   .http_status = static_cast<int>(*http_status),
                   .error = error.value_or("")};
}

std::string EncodeJobBatch(const std::vector<JobRecord>& jobs) {
  json array = json::array();
  for (const JobRecord& job : jobs) array.push_back(JobJson(job));
  return EncodeCommand({{"op", "append_jobs"}, {"jobs", std::move(array)}});
}

Outcome JobLedger::Apply(raft::Index index, const Command& command) {
  const auto jobs = command.header.find("jobs");
  if (jobs == command.header.end() || !jobs->is_array()) return Refuse("append_jobs needs a \"jobs\" array");
  const auto keep = static_cast<std::size_t>(config_.view().job_retention);
  std::size_t malformed = 0;
  {
    std::lock_guard lk(mu_);
    for (const json& j : *jobs) {
      if (auto job = JobFromJson(j)) {
        Append(std::move(*job));
      } else {
        ++malformed;
      }
    }
    Trim(keep);
  }
  if (malformed > 0) spdlog::warn("jobs: {} malformed records at {} skipped", malformed, index);
  return {};
}

void JobLedger::Append(JobRecord job) {
  const std::uint64_t seq = front_seq_ + records_.size();
  const auto [it, fresh] = by_id_.try_emplace(job.id, seq);
  if (!fresh) {
    if (records_[it->second - front_seq_] == job) return;  // a batch proposed again after a timeout
    it->second = seq;
  }
  records_.push_back(std::move(job));
}

void JobLedger::Trim(std::size_t keep) {
  while (records_.size() > keep) {
    // Forget the id only if no newer record carries it.
    if (const auto it = by_id_.find(records_.front().id); it->second == front_seq_) by_id_.erase(it);
    records_.pop_front();
    ++front_seq_;
  }
}

void JobLedger::ApplyRetention() {
  const auto keep = static_cast<std::size_t>(config_.view().job_retention);
  std::lock_guard lk(mu_);
  Trim(keep);
}

std::string JobLedger::Snapshot() const {
  std::lock_guard lk(mu_);
  json records = json::array();
  for (const JobRecord& job : records_) records.push_back(JobJson(job));
  return json{{"records", std::move(records)}}.dump();
}

void JobLedger::Restore(std::string_view data) {
  std::lock_guard lk(mu_);
  records_.clear();
  by_id_.clear();
  front_seq_ = 0;
  if (data.empty()) return;
  const json snapshot = json::parse(data);
  for (const json& j : snapshot.at("records")) {
    if (auto job = JobFromJson(j)) Append(std::move(*job));
  }
}

std::optional<JobRecord> JobLedger::Find(const std::string& id) const {
  std::lock_guard lk(mu_);
  const auto it = by_id_.find(id);
  if (it == by_id_.end()) return std::nullopt;
  return records_[it->second - front_seq_];
}

std::vector<JobRecord> JobLedger::Newest(std::size_t limit) const {
  std::lock_guard lk(mu_);
  std::vector<JobRecord> out;
  for (auto it = records_.rbegin(); it != records_.rend() && out.size() < limit; ++it) out.push_back(*it);
  return out;
}

std::size_t JobLedger::size() const {
  std::lock_guard lk(mu_);
  return records_.size();
}

}  // namespace cluster
