#include "worker/api/job_routes.h"

#include <charconv>
#include <string>

#include <nlohmann/json.hpp>

#include "worker/api/errors.h"
#include "worker/api/replicated.h"
#include "worker/cluster/member.h"

namespace api {
namespace {

using json = nlohmann::json;

constexpr int kDefaultLimit = 50;
constexpr int kMaxLimit = 1000;

http::Response GetJob(http::Request& request, cluster::ClusterMember& m) {
  if (auto refused = ConfirmFreshIfAsked(request, m)) return std::move(*refused);
  const std::string id(request.Param("id"));
  const auto job = m.state().jobs().Find(id);
  if (!job) {
    return http::Response::Error(request, 404, "no_such_job", "no such job",
                                 "no job with id '" + id.substr(0, 128) +
                                     "' is kept; a job's record arrives within about 200 ms of its answer, "
                                     "so retry briefly, and old records are dropped (job_retention)");
  }
  return http::Response::Json(200, cluster::JobJson(*job));
}

http::Response ListJobs(http::Request& request, cluster::ClusterMember& m) {
  int limit = kDefaultLimit;
  if (const auto text = request.Query("limit")) {
    const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), limit);
    if (ec != std::errc() || end != text->data() + text->size() || limit < 1 || limit > kMaxLimit) {
      return BadParameter(request, "limit", "must be an integer from 1 to " + std::to_string(kMaxLimit));
    }
  }
  if (auto refused = ConfirmFreshIfAsked(request, m)) return std::move(*refused);
  json jobs = json::array();
  for (const auto& job : m.state().jobs().Newest(static_cast<std::size_t>(limit))) {
    jobs.push_back(cluster::JobJson(job));
  }
  return http::Response::Json(200, json{{"jobs", std::move(jobs)}});
}

}  // namespace

void AddJobRoutes(Endpoints& endpoints, cluster::ClusterMember* member) {
  endpoints.Add("GET", "/api/v1/jobs/{id}", Access::kUser, OnMember(member, GetJob),
                {.name = "job_get", .compute = true});
  endpoints.Add("GET", "/api/v1/jobs", Access::kUser, OnMember(member, ListJobs),
                {.name = "jobs_list", .compute = true});
}

}  // namespace api
