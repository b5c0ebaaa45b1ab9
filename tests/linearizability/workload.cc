#include "tests/linearizability/workload.h"

#include <openssl/sha.h>

#include <exception>
#include <optional>
#include <set>
#include <utility>

#include "tests/support/http_client.h"

namespace lintest {
namespace {

using namespace std::chrono_literals;
using testsupport::HttpResponse;

// Longer than the members' proposal timeout (5 s), so a write's fate is answered when it can be.
constexpr auto kRequestTimeout = 10s;
constexpr int kKeyNames = 4;
// An embed answers in well under a second; a probe that waits longer counts as unanswered and
// moves on, so a hung member costs the probe 5 s, not 10.
constexpr auto kProbeTimeout = 5s;

std::string CoverId(const std::string& bytes) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : digest) out += {kHex[b >> 4], kHex[b & 15]};
  return out;
}

// Every call carries the admin key: once API keys exist, the API asks for one.
std::pair<std::string, std::string> Bearer(const Target& target) {
  return {"Authorization", "Bearer " + target.admin_key};
}

std::string ErrorCode(const HttpResponse& r) {
  try {
    return r.Json().value("code", "");
  } catch (const std::exception&) {
    return "";
  }
}

// One client's view: its random choices and its calls, each on a fresh connection (a member
// killed or restarted between two calls must not leave a broken connection behind).
class Caller {
 public:
  Caller(const Target& target, History& history, int client, std::uint64_t seed)
      : target_(target), history_(history), client_(client), rng_(seed) {
    for (const auto& [name, port] : target.http_ports) members_.push_back(name);
  }

  int Uniform(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  const std::string& AnyMember() { return members_[static_cast<std::size_t>(Uniform(static_cast<int>(members_.size())))]; }
  void Pause() { std::this_thread::sleep_for(std::chrono::milliseconds(Uniform(25))); }

  // Sends one request to a random member and records it as `op` (kind, op and inputs set by the
  // caller) with the outcome `judge` gives the answer (nullopt: no answer); an empty outcome
  // leaves the op out of the history.
  template <class Judge>
  void Record(json op, std::string_view method, const std::string& path, std::string_view body,
              const testsupport::HeaderList& headers, Judge judge) {
    const std::string& member = AnyMember();
    op["client"] = client_;
    op["member"] = member;
    op["call"] = history_.Now();
    std::optional<HttpResponse> answer;
    try {
      testsupport::HttpClient http("127.0.0.1", target_.http_ports.at(member), kRequestTimeout);
      answer = http.Request(method, path, body, headers);
    } catch (const std::exception& e) {
      if (std::string_view(e.what()).starts_with("connect to ")) {  // nothing was sent: no operation
        std::this_thread::sleep_for(100ms);  // the member is down: back off, as a client would
        return;
      }
    }
    op["return"] = history_.Now();
    op["status"] = answer ? answer->status : 0;
    const std::string outcome = judge(answer, op);
    if (outcome.empty()) return;
    op["outcome"] = outcome;
    history_.Add(std::move(op));
  }

  testsupport::HeaderList Admin() const {
    return {Bearer(target_), {"Content-Type", "application/json"}};
  }

 private:
  const Target& target_;
  History& history_;
  const int client_;
  std::mt19937_64 rng_;
  std::vector<std::string> members_;
};

}  // namespace

std::int64_t History::Now() const { return Since(Clock::now()); }

std::int64_t History::Since(Clock::time_point t) const {
  return 1 + std::chrono::duration_cast<std::chrono::nanoseconds>(t - start_).count();
}

void History::Add(json op) {
  std::lock_guard lk(mu_);
  ops_.push_back(std::move(op));
}

std::size_t History::size() const {
  std::lock_guard lk(mu_);
  return ops_.size();
}

json History::Json(std::int64_t initial_config) const {
  std::lock_guard lk(mu_);
  return {{"initial_config", initial_config}, {"ops", ops_}};
}

Workload::Workload(Target target, History& history, std::uint64_t seed) : target_(std::move(target)), history_(history) {
  for (int c = 0; c < 2; ++c) {
    threads_.emplace_back([this, c, seed] { RunConfig(c, seed + 11 * static_cast<std::uint64_t>(c)); });
    threads_.emplace_back([this, c, seed] { RunCovers(10 + c, seed + 13 * static_cast<std::uint64_t>(c) + 1); });
    threads_.emplace_back([this, c, seed] { RunKeys(20 + c, seed + 17 * static_cast<std::uint64_t>(c) + 2); });
  }
  threads_.emplace_back([this, seed] { RunProbe(seed + 3); });
}

Workload::~Workload() { Stop(); }

void Workload::Stop() {
  stop_ = true;
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

std::vector<ProbeSample> Workload::probes() const {
  std::lock_guard lk(probe_mu_);
  return probes_;
}

// Writes of values unique to this client, and consistent reads.
void Workload::RunConfig(int client, std::uint64_t seed) {
  Caller caller(target_, history_, client, seed);
  for (std::int64_t n = 1; !stop_; ++n, caller.Pause()) {
    if (caller.Uniform(2) == 0) {
      const std::int64_t value = 2'000'000 + client * 1'000'000 + n;
      caller.Record({{"kind", "config"}, {"op", "write"}, {"value", value}}, "PUT", "/api/v1/config",
                    json{{"max_pixels", value}}.dump(), caller.Admin(),
                    [](const std::optional<HttpResponse>& r, json&) { return r && r->status == 200 ? "ok" : "unknown"; });
    } else {
      caller.Record({{"kind", "config"}, {"op", "read"}}, "GET", "/api/v1/config?consistent=true", "", caller.Admin(),
                    [](const std::optional<HttpResponse>& r, json& op) -> std::string {
                      if (!r || r->status != 200) return "";
                      op["value"] = r->Json()["config"]["max_pixels"];
                      return "ok";
                    });
    }
  }
}

// Uploads and deletes of a few covers, and consistent lists.
void Workload::RunCovers(int client, std::uint64_t seed) {
  Caller caller(target_, history_, client, seed);
  std::vector<std::string> ids;
  for (const auto& png : target_.cover_pngs) ids.push_back(CoverId(png));
  for (; !stop_; caller.Pause()) {
    const int pick = caller.Uniform(static_cast<int>(ids.size()));
    const std::string& id = ids[static_cast<std::size_t>(pick)];
    switch (caller.Uniform(3)) {
      case 0: {
        testsupport::MultipartBuilder form;
        form.File("file", "cover.png", "image/png", target_.cover_pngs[static_cast<std::size_t>(pick)]);
        caller.Record({{"kind", "covers"}, {"op", "upload"}, {"id", id}}, "POST", "/api/v1/covers", form.Body(),
                      {Bearer(target_), {"Content-Type", form.ContentType()}},
                      [](const std::optional<HttpResponse>& r, json&) {
                        if (r && r->status == 201) return "created";
                        if (r && r->status == 200) return "existed";
                        return "unknown";
                      });
        break;
      }
      case 1:
        caller.Record({{"kind", "covers"}, {"op", "delete"}, {"id", id}}, "DELETE", "/api/v1/covers/" + id, "",
                      caller.Admin(), [](const std::optional<HttpResponse>& r, json&) {
                        if (r && r->status == 200) return "deleted";
                        if (r && (r->status == 404 || (r->status == 409 && ErrorCode(*r) == "refused"))) return "absent";
                        return "unknown";
                      });
        break;
      default:
        caller.Record({{"kind", "covers"}, {"op", "list"}}, "GET", "/api/v1/covers?consistent=true", "", caller.Admin(),
                      [](const std::optional<HttpResponse>& r, json& op) -> std::string {
                        if (!r || r->status != 200) return "";
                        const json body = r->Json();
                        op["ids"] = json::array();
                        for (const auto& c : body["covers"]) op["ids"].push_back(c["id"]);
                        return "ok";
                      });
    }
  }
}

// Creates of a few names, deletes of the ids seen, and consistent lists.
void Workload::RunKeys(int client, std::uint64_t seed) {
  Caller caller(target_, history_, client, seed);
  std::map<std::string, std::string> name_of;  // every key id seen -> its name
  for (; !stop_; caller.Pause()) {
    const int choice = caller.Uniform(3);
    if (choice == 0) {
      const std::string name = "k" + std::to_string(caller.Uniform(kKeyNames));
      caller.Record({{"kind", "keys"}, {"op", "create"}, {"name", name}}, "POST", "/api/v1/keys",
                    json{{"name", name}}.dump(), caller.Admin(),
                    [&](const std::optional<HttpResponse>& r, json& op) -> std::string {
                      if (r && r->status == 201) {
                        op["id"] = r->Json()["id"];
                        name_of[op["id"]] = op["name"];
                        return "created";
                      }
                      const std::string code = r ? ErrorCode(*r) : "";
                      if (r && r->status == 409 && (code == "key_conflict" || code == "refused")) return "conflict";
                      return "unknown";
                    });
    } else if (choice == 1 && !name_of.empty()) {
      auto it = name_of.begin();
      std::advance(it, caller.Uniform(static_cast<int>(name_of.size())));
      caller.Record({{"kind", "keys"}, {"op", "delete"}, {"id", it->first}, {"name", it->second}}, "DELETE",
                    "/api/v1/keys/" + it->first, "", caller.Admin(), [](const std::optional<HttpResponse>& r, json&) {
                      if (r && r->status == 204) return "deleted";
                      if (r && (r->status == 404 || (r->status == 409 && ErrorCode(*r) == "refused"))) return "absent";
                      return "unknown";
                    });
    } else {
      caller.Record({{"kind", "keys"}, {"op", "list"}}, "GET", "/api/v1/keys?consistent=true", "", caller.Admin(),
                    [&](const std::optional<HttpResponse>& r, json& op) -> std::string {
                      if (!r || r->status != 200) return "";
                      const json body = r->Json();
                      op["keys"] = json::object();
                      for (const auto& k : body["keys"]) {
                        op["keys"][k["name"].get<std::string>()] = k["id"];
                        name_of[k["id"]] = k["name"];
                      }
                      return "ok";
                    });
    }
  }
}

// The stego API's availability: a small embed into the default cover, again and again.
void Workload::RunProbe(std::uint64_t seed) {
  Caller caller(target_, history_, 99, seed);
  while (!stop_) {
    ProbeSample sample{.sent = history_.Now(), .member = caller.AnyMember(), .ok = false};
    try {
      testsupport::HttpClient http("127.0.0.1", target_.http_ports.at(sample.member), kProbeTimeout);
      sample.ok = http.PostMultipart("/api/v1/embed", testsupport::MultipartBuilder().Field("message", "probe"),
                                     {Bearer(target_)})
                      .status == 200;
    } catch (const std::exception&) {
    }
    {
      std::lock_guard lk(probe_mu_);
      probes_.push_back(std::move(sample));
    }
    std::this_thread::sleep_for(20ms);
  }
}

std::int64_t ReadMaxPixels(const Target& target, const std::string& member) {
  testsupport::HttpClient http("127.0.0.1", target.http_ports.at(member), kRequestTimeout);
  const auto r = http.Request("GET", "/api/v1/config?consistent=true", "",
                               {Bearer(target)});
  if (r.status != 200) throw std::runtime_error("config read answered " + std::to_string(r.status) + ": " + r.body);
  return r.Json()["config"]["max_pixels"].get<std::int64_t>();
}

}  // namespace lintest
