// JobLedger: the replicated record of the stego jobs the members computed — one JobRecord per
// embed, extract or capacity call, found by its request id from any member.
//
// Members do not propose one entry per job: each member's JobRecorder (job_recorder.h) collects
// its records and proposes them in batches ("append_jobs"). Applying a batch appends every
// well-formed record and skips malformed ones (a newer member's shape, a damaged entry) alike
// everywhere; a record identical to one already kept under its id is a retried batch and is
// skipped too, so that a proposal retried after a timeout does not count a job twice.
//
// Retention: only the newest `job_retention` records (configuration key, config_store.h) are
// kept. The bound is applied when a batch is applied and when the configuration changes
// (ApplyRetention), at the same log index on every member, so every member keeps the same records.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "worker/cluster/config_store.h"
#include "worker/cluster/state_section.h"

namespace cluster {

struct JobRecord {
  std::string id{};      // the request id of the call that ran it (its answer's request_id)
  std::string kind{};    // embed, extract, capacity
  std::string member{};  // the name of the member that computed it
  std::uint64_t started_at_ms = 0;  // wall clock of the computing member, ms since the epoch
  std::uint64_t duration_ms = 0;
  std::uint64_t input_bytes = 0;   // the request body
  std::uint64_t output_bytes = 0;  // the answer body
  int http_status = 200;
  std::string error{};  // the error answer's "code"; empty when the job succeeded
  bool operator==(const JobRecord&) const = default;
};

// {id, kind, member, started_at, duration_ms, input_bytes, output_bytes, status: "ok"|"error",
// http_status, error (only when failed)}: the API's shape, and the ledger's in its log and snapshots.
nlohmann::json JobJson(const JobRecord& job);
// nullopt for anything but a well-formed record of that shape.
std::optional<JobRecord> JobFromJson(const nlohmann::json& j);
// The command that appends `jobs` to the ledger.
std::string EncodeJobBatch(const std::vector<JobRecord>& jobs);

class JobLedger final : public StateSection {
 public:
  // Reads job_retention from `config` when applying; `config` must outlive the ledger.
  explicit JobLedger(const ConfigStore& config) : config_(config) {}

  std::string_view name() const override { return "jobs"; }
  bool Owns(std::string_view op) const override { return op == "append_jobs"; }
  Outcome Apply(raft::Index index, const Command& command) override;
  std::string Snapshot() const override;
  void Restore(std::string_view data) override;

  // Drops the oldest records beyond job_retention. ClusterState calls it when the configuration
  // changes, so lowering the retention takes effect at once.
  void ApplyRetention();

  // The newest record with this id (a client may reuse an X-Request-Id), or nullopt.
  std::optional<JobRecord> Find(const std::string& id) const;
  // Up to `limit` records, newest first.
  std::vector<JobRecord> Newest(std::size_t limit) const;
  std::size_t size() const;

 private:
  void Append(JobRecord job);   // mu_ held
  void Trim(std::size_t keep);  // mu_ held

  const ConfigStore& config_;
  mutable std::mutex mu_;
  std::deque<JobRecord> records_;  // oldest first
  // Each id's newest record, as its sequence number: records_[seq - front_seq_].
  std::unordered_map<std::string, std::uint64_t> by_id_;
  std::uint64_t front_seq_ = 0;  // sequence number of records_.front(); local bookkeeping only
};

}  // namespace cluster
