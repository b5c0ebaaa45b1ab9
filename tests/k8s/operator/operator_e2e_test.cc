// stego-operator end to end, on the real control plane with the pod runner playing the node
// (tests/k8s/operator/e2e.sh runs this inside a private network namespace). The operator runs as
// the ServiceAccount of manifests/rbac.yaml, with its token, never with the admin certificate:
// a verb missing from the ClusterRole fails these tests.
//
// One StegoCluster, `demo`, lives through the tests in order. It forms and turns Ready, with its
// Ingress served by Traefik; it serves an embed through the leader and an extract through a
// follower; the leader label follows kill -9, SIGSTOP and a leadership transfer. Then, each under
// writes and embeds that reach it both through the client Service's endpoints and through the
// Ingress, with the members' quorum watched: it scales 3 -> 5 -> 3 one member at a time; it
// restarts every member (leader last) by annotation and by `kubectl rollout restart`; it does both
// again with the operator killed half-way; `kubectl drain` moves it to a second node (the
// leadership first, never below a quorum). Then a majority frozen is QuorumLost until it returns, a
// converged cluster costs no write, drift is repaired, the Secret is never regenerated, a second
// operator takes over from a killed one, the Ingress follows the spec, the default LSB bits reach
// the replicated configuration, pausing stops reconciling, and deleting the cluster removes what
// it owned.
#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "tests/k8s/client/k8s_test_env.h"
#include "tests/k8s/operator/ground.h"
#include "tests/support/http_client.h"

namespace {

using namespace std::chrono_literals;
using operatortest::Json;
using testsupport::HttpClient;
using testsupport::MultipartBuilder;
using testsupport::ProcessUnderTest;
namespace res = kube::resources;

const kube::GroupVersionResource& kStego = operatortest::kStegoClusters;
constexpr char kNs[] = "e2e";
constexpr char kHost[] = "demo.test";  // the Ingress's host, served by Traefik
// Forming a cluster: the pod runner starts three workers, which find each other through the
// headless Service's DNS and elect a leader. Generous, for a busy machine.
constexpr auto kFormDeadline = 180s;
constexpr auto kChangeDeadline = 60s;

// The two ways clients reach the cluster: the client Service's endpoints (a client inside the
// cluster) and the Ingress (one from outside, through Traefik to the leader Service).
enum class Path { kServiceEndpoints, kIngress };
// Round n of a load goes by one path, round n+1 by the other.
Path PathOfRound(int n) { return n % 2 ? Path::kServiceEndpoints : Path::kIngress; }

class OperatorE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ground_ = new operatortest::Ground();
    k8stest::EnsureNamespace(ground_->admin(), kNs);
    first_operator_ = ground_->StartOperator("operator-a").release();
    ground_->StartIngressController();
  }
  static void TearDownTestSuite() {
    delete first_operator_;
    delete second_operator_;
    delete ground_;
  }
  void TearDown() override {
    if (HasFailure()) {
      std::cerr << "logs kept in " << ground_->logs() << "\n"
                << k8stest::Shell("kubectl -n e2e get stego,sts,pods,svc -o wide --show-labels");
    }
  }

  static kube::Client& admin() { return ground_->admin(); }
  static Json Cluster() { return ground_->Cluster(kNs, "demo"); }
  static std::string ConditionOf(const Json& cluster, const std::string& type) {
    return operatortest::Ground::ConditionOf(cluster, type);
  }
  static std::vector<Json> Pods() { return ground_->Pods(kNs, "demo"); }
  static std::string IpOf(const std::string& pod) { return ground_->IpOf(kNs, pod); }
  static std::string LabelledLeader() { return ground_->LabelledLeader(kNs, "demo"); }
  static bool RoutedTo(const std::string& leader) { return ground_->RoutedTo(kNs, "demo", leader); }
  static std::string SelfDeclaredLeader() { return ground_->SelfDeclaredLeader(kNs, "demo"); }
  static std::string AnyFollower(const std::string& leader) {
    for (const Json& pod : Pods()) {
      if (pod["metadata"]["name"] != leader) return pod["metadata"]["name"];
    }
    return "";
  }
  // Every owned object's and member pod's resourceVersion, by name.
  static std::map<std::string, std::string> ResourceVersions() {
    std::map<std::string, std::string> out;
    for (auto [gvr, name] : std::vector<std::pair<const kube::GroupVersionResource*, std::string>>{
             {&kStego, "demo"}, {&res::kStatefulSets, "demo"}, {&res::kServices, "demo"},
             {&res::kServices, "demo-peers"}, {&res::kServices, "demo-leader"}, {&res::kSecrets, "demo-auth"},
             {&res::kPodDisruptionBudgets, "demo"}, {&res::kNetworkPolicies, "demo-peers"},
             {&res::kIngresses, "demo"}}) {
      auto got = admin().Get(*gvr, kNs, name);
      out[gvr->resource + "/" + name] = got ? (*got)["metadata"].value("resourceVersion", "") : "absent";
    }
    for (const Json& pod : Pods()) out["pods/" + pod["metadata"].value("name", "")] = pod["metadata"]["resourceVersion"];
    return out;
  }
  static double Reconciles(ProcessUnderTest& op) {
    return operatortest::Ground::Metrics(op).Sum("stego_operator_reconciles_total");
  }
  static double Writes(ProcessUnderTest& op) { return operatortest::Ground::Metrics(op).Sum("stego_operator_writes_total"); }
  static std::optional<double> Leading(ProcessUnderTest& op) {
    return operatortest::Ground::Metrics(op).Value("stego_operator_leading");
  }
  static std::string WaitReady(std::chrono::seconds deadline) {
    return k8stest::Shell("kubectl -n e2e wait --for=condition=Ready stegocluster/demo --timeout=" +
                          std::to_string(deadline.count()) + "s");
  }

  // The admin key the operator generated into demo-auth.
  static std::string AdminKey() {
    auto secret = admin().Get(res::kSecrets, kNs, "demo-auth");
    if (!secret) throw std::runtime_error("no Secret demo-auth");
    return *kube::DecodeBase64((*secret)["data"]["admin-key"].get<std::string>());
  }
  // The voters `pod` reports in its /raft/status; empty while it does not answer.
  static std::set<std::string> VotersOf(const std::string& pod) {
    const Json status = ground_->RaftStatus(kNs, pod);
    std::set<std::string> out;
    if (!status.is_object()) return out;
    for (const Json& v : status.value("voters", Json::array())) out.insert(v.get<std::string>());
    return out;
  }
  // Whether demo-0 .. demo-<n-1> all report exactly themselves as the voters.
  static bool MembersAgreeOn(int n) {
    std::set<std::string> want;
    for (int i = 0; i < n; ++i) want.insert("demo-" + std::to_string(i));
    for (const std::string& pod : want) {
      if (VotersOf(pod) != want) return false;
    }
    return true;
  }

  // Stops the writer; none of its writes failed, and every member holds its last acknowledged one.
  template <class Writer>
  static void ExpectNoWriteFailedOrLost(Writer& writer) {
    writer.Stop();
    const auto failures = writer.Failures();
    EXPECT_TRUE(failures.empty()) << failures.size() << " writes failed, the first: " << failures.front();
    ASSERT_GT(writer.last_acknowledged(), 20);
    EXPECT_GT(writer.acknowledged(Path::kServiceEndpoints), 10);
    EXPECT_GT(writer.acknowledged(Path::kIngress), 10);
    std::cerr << "writes acknowledged: " << writer.acknowledged(Path::kServiceEndpoints) << " through the endpoints, "
              << writer.acknowledged(Path::kIngress) << " through the Ingress\n";
    for (const Json& pod : Pods()) {
      HttpClient http(IpOf(pod["metadata"]["name"]), 8081);
      const Json config = http.Get("/api/v1/config?consistent=true").Json();
      EXPECT_GE(config["config"]["max_pixels"].get<int>(), writer.base() + writer.last_acknowledged())
          << pod["metadata"]["name"] << ": an acknowledged write was lost";
    }
  }

  static inline operatortest::Ground* ground_ = nullptr;
  static inline ProcessUnderTest* first_operator_ = nullptr;
  static inline ProcessUnderTest* second_operator_ = nullptr;
  static inline std::string secret_version_;
};

TEST_F(OperatorE2E, AppliedClusterFormsAndTurnsReadyWithTruthfulStatus) {
  const std::string applied = ground_->ApplyCluster(
      kNs, "demo", "{image: stego-worker, ingress: {enabled: true, className: traefik, host: demo.test}}");
  ASSERT_NE(applied.find("stegocluster.stegocluster.io/demo created"), std::string::npos) << applied;
  const std::string waited = WaitReady(kFormDeadline);
  ASSERT_NE(waited.find("condition met"), std::string::npos) << waited << Cluster().dump(2);

  const Json status = Cluster()["status"];
  EXPECT_EQ(status["replicas"], 3);
  EXPECT_EQ(status["readyReplicas"], 3);
  EXPECT_EQ(status["observedGeneration"], Cluster()["metadata"]["generation"]);
  EXPECT_EQ(status["selector"], "stegocluster.io/cluster=demo");
  EXPECT_EQ(ConditionOf(Cluster(), "Available"), "True/QuorumReady");
  EXPECT_EQ(ConditionOf(Cluster(), "LeaderElected"), "True/LeaderElected");
  EXPECT_EQ(ConditionOf(Cluster(), "Progressing"), "False/Converged");
  // The operator's leader is the one the members name, in the term they are in.
  ASSERT_TRUE(k8stest::Eventually([&] { return SelfDeclaredLeader() == Cluster()["status"].value("leader", ""); }, kChangeDeadline));
  const std::string leader = Cluster()["status"]["leader"];
  EXPECT_EQ(Cluster()["status"]["term"], ground_->RaftStatus(kNs, leader)["term"]);
  std::set<std::uint64_t> ids;
  const Json cluster = Cluster();
  for (const Json& m : cluster["status"]["members"]) {
    EXPECT_EQ(m["role"], m["name"] == leader ? "Leader" : "Follower") << m.dump();
    EXPECT_TRUE(m["ready"].get<bool>()) << m.dump();
    ids.insert(m["raftId"].get<std::uint64_t>());
  }
  EXPECT_EQ(ids.size(), 3u) << "three distinct Raft members";
  ASSERT_TRUE(k8stest::Eventually([&] { return RoutedTo(leader); }, kChangeDeadline));
  // Traefik routes the Ingress's host to the leader (it learns of the Ingress and the leader
  // Service's EndpointSlice from the API server).
  EXPECT_TRUE(k8stest::Eventually([&] {
    const auto answer = ground_->ThroughIngress(kHost, "GET", "/raft/status");
    return answer.status == 200 && answer.Json().value("id", "") == leader;
  }, kChangeDeadline));
  // The client Service reaches every member (the EndpointSlice controller may trail the pods).
  EXPECT_TRUE(k8stest::Eventually([&] { return ground_->SliceAddresses(kNs, "demo").size() == 3; }, kChangeDeadline));

  const std::string table = k8stest::Shell("kubectl -n e2e get stego demo");
  for (const char* column : {"REPLICAS", "READY", "LEADER", "TERM", "AVAILABLE", "PROGRESSING", "AGE"}) {
    EXPECT_NE(table.find(column), std::string::npos) << table;
  }
  EXPECT_NE(table.find(leader), std::string::npos) << table;

  // An embed through the leader's address, the extract through a follower's.
  const std::string follower = AnyFollower(leader);
  HttpClient at_leader(IpOf(leader), 8081);
  const auto stego = at_leader.PostMultipart("/api/v1/embed", MultipartBuilder().Field("message", "through the operator"));
  ASSERT_EQ(stego.status, 200) << stego.body;
  HttpClient at_follower(IpOf(follower), 8081);
  const auto message =
      at_follower.PostMultipart("/api/v1/extract", MultipartBuilder().File("file", "s.png", "image/png", stego.body));
  EXPECT_EQ(message.status, 200);
  EXPECT_EQ(message.body, "through the operator");

  auto secret = admin().Get(res::kSecrets, kNs, "demo-auth");
  ASSERT_TRUE(secret);
  secret_version_ = (*secret)["metadata"]["resourceVersion"];
}

TEST_F(OperatorE2E, TheLabelFollowsTheLeaderAfterKill9) {
  const std::string leader = Cluster()["status"]["leader"];
  ASSERT_FALSE(leader.empty());
  ASSERT_EQ(::kill(ground_->PidOf(kNs, leader), SIGKILL), 0);
  std::string next;
  ASSERT_TRUE(k8stest::Eventually([&] {
    next = SelfDeclaredLeader();
    return !next.empty() && next != leader && RoutedTo(next);
  }, kChangeDeadline)) << "labelled: " << LabelledLeader();
  ASSERT_TRUE(k8stest::Eventually([&] { return Cluster()["status"].value("leader", "") == next; }, kChangeDeadline));
  // The killed member comes back as a follower and the cluster is Ready again.
  const std::string waited = WaitReady(120s);
  EXPECT_NE(waited.find("condition met"), std::string::npos) << waited;
}

TEST_F(OperatorE2E, TheLabelFollowsTheLeaderAfterSigstop) {
  // A frozen leader: its process lives on, answers nothing, and still believes it leads.
  const std::string leader = Cluster()["status"]["leader"];
  ASSERT_FALSE(leader.empty());
  const int pid = ground_->PidOf(kNs, leader);
  ASSERT_EQ(::kill(pid, SIGSTOP), 0);
  std::string next;
  const bool moved = k8stest::Eventually([&] {
    next = SelfDeclaredLeader();
    return !next.empty() && next != leader && RoutedTo(next);
  }, kChangeDeadline);
  ASSERT_EQ(::kill(pid, SIGCONT), 0);
  ASSERT_TRUE(moved) << "labelled: " << LabelledLeader();
  // Thawed, it learns of the newer term and follows; the cluster is Ready again.
  const std::string waited = WaitReady(120s);
  EXPECT_NE(waited.find("condition met"), std::string::npos) << waited;
  EXPECT_TRUE(RoutedTo(Cluster()["status"].value("leader", "")));
}

TEST_F(OperatorE2E, TheLabelFollowsALeadershipTransfer) {
  const std::string leader = Cluster()["status"]["leader"];
  ASSERT_FALSE(leader.empty());
  auto secret = admin().Get(res::kSecrets, kNs, "demo-auth");
  ASSERT_TRUE(secret);
  const std::string admin_key = *kube::DecodeBase64((*secret)["data"]["admin-key"].get<std::string>());
  HttpClient http(IpOf(leader), 8081);
  const auto moved = http.Post("/admin/transfer-leadership", "{}", "application/json",
                               {{"Authorization", "Bearer " + admin_key}});
  ASSERT_EQ(moved.status, 200) << moved.body;
  std::string next;
  ASSERT_TRUE(k8stest::Eventually([&] {
    next = SelfDeclaredLeader();
    return !next.empty() && next != leader && RoutedTo(next);
  }, kChangeDeadline));
}

// A thread that runs rounds 1, 2, ... until Stop(); a round may Record() what went wrong. A subclass
// calls Start() at the end of its constructor and Stop() first in its destructor, so that no round
// runs on its members before or after they live.
class Rounds {
 public:
  virtual ~Rounds() = default;
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int rounds() const { return rounds_; }
  std::vector<std::string> Records() const {
    std::lock_guard lk(mu_);
    return records_;
  }

 protected:
  void Start() {
    thread_ = std::thread([this] {
      for (int n = 1; !stop_; ++n) {
        Round(n);
        rounds_ = n;
      }
    });
  }
  virtual void Round(int n) = 0;
  void Record(std::string what) {
    std::lock_guard lk(mu_);
    records_.push_back(std::move(what));
  }

 private:
  std::atomic<bool> stop_ = false;
  std::atomic<int> rounds_ = 0;
  mutable std::mutex mu_;
  std::vector<std::string> records_;
  std::thread thread_;
};

struct Request {
  std::string method, target, body;
  testsupport::HeaderList headers;
};

// The documented retry rule (docs/operator.md): a request that fails to connect or is answered
// 503 goes again, unchanged, five tries at most: through the client Service, to the next address
// its EndpointSlices list; through the Ingress, to the Ingress again after 200 ms. "" once
// answered 200; otherwise the last answer.
std::string SendWithRetries(operatortest::Ground& ground, Path path, int n, const Request& request) {
  std::string last_answer = "no address";
  for (int attempt = 0; attempt < 5; ++attempt) {
    std::string at = "ingress";
    testsupport::HttpResponse answer;
    if (path == Path::kIngress) {
      if (attempt > 0) std::this_thread::sleep_for(200ms);
      answer = ground.ThroughIngress(kHost, request.method, request.target, request.body, request.headers, 20s);
    } else {
      const auto addresses = ground.SliceAddresses(kNs, "demo");
      if (addresses.empty()) continue;
      at = *std::next(addresses.begin(), (n + attempt) % addresses.size());
      try {
        HttpClient http(at, 8081, 20s);
        answer = http.Request(request.method, request.target, request.body, request.headers);
      } catch (const std::exception& e) {
        answer.body = e.what();  // the pod went: retry elsewhere
      }
    }
    if (answer.status == 200) return "";
    last_answer = at + ": " + std::to_string(answer.status) + " " + answer.body.substr(0, 300);
    if (answer.status != 0 && answer.status != 503) break;  // not worth a retry: a real failure
  }
  return last_answer;
}

// Requests answered 200, counted by the path they took.
class PathCounts {
 public:
  void Add(Path path) { ++counts_[static_cast<int>(path)]; }
  int operator[](Path path) const { return counts_[static_cast<int>(path)]; }

 private:
  std::atomic<int> counts_[2] = {0, 0};
};

// A writer under the retry rule: every write carries an Idempotency-Key (so a retry takes effect
// once). It raises max_pixels base+1, base+2, ... (each writer above the last one's values): the
// values only grow, so "no acknowledged write lost" reads as "the final value is at least base
// plus the last acknowledged one". Its keys are <name>-1, <name>-2, ...; its rounds take the two
// paths in turn.
class ServiceWriter : public Rounds {
 public:
  ServiceWriter(operatortest::Ground& ground, std::string admin_key, std::string name, int base)
      : ground_(ground), admin_key_(std::move(admin_key)), name_(std::move(name)), base_(base) {
    Start();
  }
  ~ServiceWriter() override { Stop(); }
  int last_acknowledged() const { return last_; }
  int acknowledged(Path path) const { return acknowledged_[path]; }
  int base() const { return base_; }
  std::vector<std::string> Failures() const { return Records(); }

 private:
  void Round(int n) override {
    const Request write{.method = "PUT",
                        .target = "/api/v1/config",
                        .body = Json{{"max_pixels", base_ + n}}.dump(),
                        .headers = {{"Authorization", "Bearer " + admin_key_},
                                    {"Content-Type", "application/json"},
                                    {"Idempotency-Key", name_ + "-" + std::to_string(n)}}};
    const std::string failed = SendWithRetries(ground_, PathOfRound(n), n, write);
    if (failed.empty()) {
      last_ = n;
      acknowledged_.Add(PathOfRound(n));
    } else {
      Record("write " + std::to_string(n) + ": " + failed);
    }
    std::this_thread::sleep_for(50ms);
  }

  operatortest::Ground& ground_;
  const std::string admin_key_;
  const std::string name_;
  const int base_;
  std::atomic<int> last_ = 0;
  PathCounts acknowledged_;
};

// The stego load beside the writes: an embed of a short message into the default cover under the
// retry rule, one after another with 100 ms between (a steady load that leaves the two cores to
// the operations too), taking the two paths in turn.
class ServiceEmbedder : public Rounds {
 public:
  explicit ServiceEmbedder(operatortest::Ground& ground) : ground_(ground) { Start(); }
  ~ServiceEmbedder() override { Stop(); }
  int answered(Path path) const { return answered_[path]; }

 private:
  void Round(int n) override {
    const MultipartBuilder form = MultipartBuilder().Field("message", "under load");
    const Request embed{.method = "POST",
                        .target = "/api/v1/embed",
                        .body = form.Body(),
                        .headers = {{"Content-Type", form.ContentType()}}};
    const std::string failed = SendWithRetries(ground_, PathOfRound(n), n, embed);
    if (failed.empty()) {
      answered_.Add(PathOfRound(n));
    } else {
      Record("embed " + std::to_string(n) + ": " + failed);
    }
    std::this_thread::sleep_for(100ms);
  }

  operatortest::Ground& ground_;
  PathCounts answered_;
};

// Samples every member's own /raft/status every 100 ms while it runs. A sample is a breach when
// fewer members answer as voters (their own view lists them among the voters) than a quorum of the
// configuration the most advanced of them (highest applied index) holds, or when none answers.
class QuorumWatch : public Rounds {
 public:
  explicit QuorumWatch(operatortest::Ground& ground) : ground_(ground) { Start(); }
  ~QuorumWatch() override { Stop(); }
  std::vector<std::string> Breaches() const { return Records(); }

 private:
  void Round(int) override {
    std::vector<Json> views;
    for (const Json& pod : ground_.Pods(kNs, "demo")) {
      if (Json view = ground_.RaftStatus(kNs, pod["metadata"]["name"]); view.is_object()) views.push_back(view);
    }
    const auto newest = std::max_element(views.begin(), views.end(), [](const Json& a, const Json& b) {
      return a.value("applied", 0) < b.value("applied", 0);
    });
    if (newest == views.end()) {
      Record("no member answers");
    } else {
      const Json voters = newest->value("voters", Json::array());
      const auto voting = std::count_if(views.begin(), views.end(), [&](const Json& v) {
        const Json own = v.value("voters", Json::array());
        return std::find(voters.begin(), voters.end(), v["id"]) != voters.end() &&
               std::find(own.begin(), own.end(), v["id"]) != own.end();
      });
      if (voting < static_cast<long>(voters.size() / 2 + 1)) {
        Record(std::to_string(voting) + " voters answer, of " + voters.dump());
      }
    }
    std::this_thread::sleep_for(100ms);
  }

  operatortest::Ground& ground_;
};

// Stops the embedder: none of its embeds failed, and it embedded throughout, by both paths.
void ExpectNoEmbedFailed(ServiceEmbedder& embedder) {
  embedder.Stop();
  const auto failures = embedder.Records();
  EXPECT_TRUE(failures.empty()) << failures.size() << " embeds failed, the first: " << failures.front();
  EXPECT_GT(embedder.answered(Path::kServiceEndpoints), 5);
  EXPECT_GT(embedder.answered(Path::kIngress), 5);
  std::cerr << "embeds answered: " << embedder.answered(Path::kServiceEndpoints) << " through the endpoints, "
            << embedder.answered(Path::kIngress) << " through the Ingress\n";
}

// Stops the watch: no sample lacked a quorum of voters, and it sampled throughout.
void ExpectQuorumThroughout(QuorumWatch& watch) {
  watch.Stop();
  const auto breaches = watch.Breaches();
  EXPECT_TRUE(breaches.empty()) << breaches.size() << " of " << watch.rounds()
                                << " samples without a quorum of voters, the first: " << breaches.front();
  EXPECT_GT(watch.rounds(), 20);
}

// kubectl scale 3 -> 5 -> 3 under writes. Out: the StatefulSet grows one pod at a time (4 is seen
// before 5), each newcomer promoted to voter. In: demo-4 then demo-3 are removed from the Raft
// configuration and their pods deleted; the members that stay agree on a three-voter configuration.
// The writer loses nothing and gets no error.
TEST_F(OperatorE2E, ScalingOutAndInMovesOneMemberAtATimeAndCostsNoWriteAnError) {
  ServiceWriter writer(*ground_, AdminKey(), "e2e-scale", 40'000'000);
  QuorumWatch watch(*ground_);
  ServiceEmbedder embedder(*ground_);
  std::set<int> sizes;  // every StatefulSet size seen while scaling out, from before the change on
  const auto see_size = [&] {
    auto sts = admin().Get(res::kStatefulSets, kNs, "demo");
    if (sts) sizes.insert((*sts)["spec"].value("replicas", 0));
  };
  see_size();

  std::string scaled = k8stest::Shell("kubectl -n e2e scale stegocluster/demo --replicas=5");
  ASSERT_NE(scaled.find("scaled"), std::string::npos) << scaled;
  ASSERT_TRUE(k8stest::Eventually([&] {
    see_size();
    return MembersAgreeOn(5) && ConditionOf(Cluster(), "Ready") == "True/Ready" &&
           Cluster()["status"].value("replicas", 0) == 5;
  }, kFormDeadline)) << Cluster()["status"].dump(2);
  EXPECT_EQ(sizes, (std::set<int>{3, 4, 5})) << "one member at a time";

  scaled = k8stest::Shell("kubectl -n e2e scale stegocluster/demo --replicas=3");
  ASSERT_NE(scaled.find("scaled"), std::string::npos) << scaled;
  ASSERT_TRUE(k8stest::Eventually([&] {
    return MembersAgreeOn(3) && Pods().size() == 3 && ConditionOf(Cluster(), "Ready") == "True/Ready" &&
           Cluster()["status"].value("replicas", 0) == 3;
  }, kFormDeadline)) << Cluster()["status"].dump(2);
  const std::string removed = k8stest::Shell("kubectl -n e2e get events --field-selector reason=MemberRemoved -o name");
  EXPECT_EQ(std::count(removed.begin(), removed.end(), '\n'), 2) << removed;

  ExpectQuorumThroughout(watch);
  ExpectNoEmbedFailed(embedder);
  ExpectNoWriteFailedOrLost(writer);
}

// Both ways a person restarts every member: the StegoCluster's restartedAt annotation, and
// `kubectl rollout restart` of the StatefulSet (whose template annotation the operator leaves in
// place). Each time every pod is replaced one at a time, the leader last (its replacement is the
// newest pod), and the writer loses nothing and gets no error.
TEST_F(OperatorE2E, RollingRestartsReplaceEveryMemberLeaderLastAndCostNoWriteAnError) {
  ServiceWriter writer(*ground_, AdminKey(), "e2e-rollout", 45'000'000);
  QuorumWatch watch(*ground_);
  ServiceEmbedder embedder(*ground_);
  const auto uids = [] {
    std::map<std::string, std::string> out;
    for (const Json& pod : Pods()) out[pod["metadata"]["name"]] = pod["metadata"]["uid"];
    return out;
  };
  const auto restarted_all = [&](const std::map<std::string, std::string>& before, const std::string& old_leader) {
    EXPECT_TRUE(k8stest::Eventually([&] {
      const auto now = uids();
      for (const auto& [pod, uid] : before) {
        if (!now.count(pod) || now.at(pod) == uid) return false;
      }
      return ConditionOf(Cluster(), "Ready") == "True/Ready";
    }, kFormDeadline)) << Cluster()["status"].dump(2);
    std::string newest, newest_time;
    for (const Json& pod : Pods()) {
      const std::string created = pod["metadata"]["creationTimestamp"];
      if (created >= newest_time) {
        newest_time = created;
        newest = pod["metadata"]["name"];
      }
    }
    EXPECT_EQ(newest, old_leader) << "the leader restarts last";
    EXPECT_NE(Cluster()["status"].value("leader", ""), old_leader) << "it handed leadership over before going";
  };

  std::string leader = Cluster()["status"]["leader"];
  auto before = uids();
  const std::string annotated =
      k8stest::Shell("kubectl -n e2e annotate stegocluster/demo kubectl.kubernetes.io/restartedAt=2026-12-04T10:00:00Z");
  ASSERT_NE(annotated.find("annotated"), std::string::npos) << annotated;
  restarted_all(before, leader);

  leader = Cluster()["status"]["leader"];
  before = uids();
  const std::string restarted = k8stest::Shell("kubectl -n e2e rollout restart statefulset/demo");
  ASSERT_NE(restarted.find("restarted"), std::string::npos) << restarted;
  restarted_all(before, leader);
  auto sts = admin().Get(res::kStatefulSets, kNs, "demo");
  ASSERT_TRUE(sts);
  EXPECT_TRUE((*sts)["spec"]["template"]["metadata"]["annotations"].contains("kubectl.kubernetes.io/restartedAt"))
      << "kubectl's restart annotation is left in place";

  const std::string completed = k8stest::Shell("kubectl -n e2e get events --field-selector reason=RolloutCompleted -o name");
  EXPECT_EQ(std::count(completed.begin(), completed.end(), '\n'), 2) << completed;
  ExpectQuorumThroughout(watch);
  ExpectNoEmbedFailed(embedder);
  ExpectNoWriteFailedOrLost(writer);
}

// The operator gets SIGKILL in the middle of a scale-in and again in the middle of a rollout; a
// fresh one (another identity, so that its log is its own) takes the Lease and finishes each from
// what the members say, under the same writer: the end state is right and no write failed.
TEST_F(OperatorE2E, AnOperatorKilledMidScaleInAndMidRolloutLeavesTheRestToItsSuccessor) {
  ServiceWriter writer(*ground_, AdminKey(), "e2e-crash", 50'000'000);
  QuorumWatch watch(*ground_);
  ServiceEmbedder embedder(*ground_);
  int generation = 1;
  const auto replace_operator = [&] {
    first_operator_->Signal(SIGKILL);
    ASSERT_TRUE(first_operator_->WaitExit(10s).has_value());
    delete first_operator_;
    first_operator_ = ground_->StartOperator("operator-a" + std::to_string(++generation)).release();
  };
  const auto progressing_reason = [] {
    const std::string c = ConditionOf(Cluster(), "Progressing");
    return c.substr(c.find('/') + 1);
  };
  const auto settled_at = [&](int n) {
    return k8stest::Eventually([&] {
      return MembersAgreeOn(n) && static_cast<int>(Pods().size()) == n &&
             ConditionOf(Cluster(), "Ready") == "True/Ready";
    }, kFormDeadline);
  };

  ASSERT_NE(k8stest::Shell("kubectl -n e2e scale stegocluster/demo --replicas=5").find("scaled"), std::string::npos);
  ASSERT_TRUE(settled_at(5)) << Cluster()["status"].dump(2);
  ASSERT_NE(k8stest::Shell("kubectl -n e2e scale stegocluster/demo --replicas=3").find("scaled"), std::string::npos);
  const std::set<std::string> scale_in = {"TransferringLeadership", "DrainingMember", "RemovingMember", "ScalingDown"};
  ASSERT_TRUE(k8stest::Eventually([&] { return scale_in.count(progressing_reason()) > 0; }, kChangeDeadline))
      << Cluster()["status"].dump(2);
  replace_operator();
  ASSERT_TRUE(settled_at(3)) << Cluster()["status"].dump(2);

  const auto before = Pods();
  ASSERT_NE(k8stest::Shell("kubectl -n e2e annotate --overwrite stegocluster/demo "
                           "kubectl.kubernetes.io/restartedAt=2026-12-04T11:00:00Z").find("annotated"),
            std::string::npos);
  ASSERT_TRUE(k8stest::Eventually([&] { return progressing_reason() == "RollingRestart"; }, kChangeDeadline));
  replace_operator();
  ASSERT_TRUE(k8stest::Eventually([&] {
    for (const Json& old : before) {
      for (const Json& now : Pods()) {
        if (now["metadata"]["uid"] == old["metadata"]["uid"]) return false;
      }
    }
    return true;
  }, kFormDeadline)) << Cluster()["status"].dump(2);
  ASSERT_TRUE(settled_at(3)) << Cluster()["status"].dump(2);
  ExpectQuorumThroughout(watch);
  ExpectNoEmbedFailed(embedder);
  ExpectNoWriteFailedOrLost(writer);
}

// `kubectl drain` of the node the whole cluster runs on, under writes, with a second node to go
// to. Cordoned while no member runs elsewhere: DrainBlocked (the leader has nowhere to go). One
// follower evicted: its replacement lands on the second node (on a new emptyDir: a new identity,
// whose join retires the stale one), and once it is a ready voter the operator hands it the
// leadership, before the drain reaches the leader. Then the drain evicts the rest: the
// PodDisruptionBudget admits the next eviction only once the last replacement is a ready voter (a
// learner is not ready). Throughout, a quorum of voters answers in the members' own views; no write
// fails or is lost; the three members end up on the second node.
TEST_F(OperatorE2E, ADrainOfTheLeadersNodeMovesLeadershipFirstAndNeverBreaksQuorum) {
  const std::string old_node = "podrunner", new_node = "podrunner-b";
  const auto node_of = [](const std::string& pod) {
    auto got = admin().Get(res::kPods, kNs, pod);
    return got ? (*got)["spec"].value("nodeName", "") : "";
  };
  ASSERT_TRUE(k8stest::Eventually([] { return ConditionOf(Cluster(), "Ready") == "True/Ready"; }, kFormDeadline));
  for (const Json& pod : Pods()) ASSERT_EQ(node_of(pod["metadata"]["name"]), old_node);
  ground_->AddNode(new_node, "10.244.1.0/24");
  ASSERT_TRUE(k8stest::Eventually([&] {
    auto node = admin().Get(res::kNodes, "", new_node);
    if (!node) return false;
    const Json conditions = (*node)["status"].value("conditions", Json::array());
    return std::any_of(conditions.begin(), conditions.end(),
                       [](const Json& c) { return c.value("type", "") == "Ready" && c.value("status", "") == "True"; });
  }, kChangeDeadline)) << "node " << new_node << " is not Ready";

  ServiceWriter writer(*ground_, AdminKey(), "e2e-drain", 60'000'000);
  QuorumWatch watch(*ground_);
  ServiceEmbedder embedder(*ground_);
  const auto events = [](const std::string& reason) {
    return k8stest::Shell("kubectl -n e2e get events --field-selector reason=" + reason +
                          " -o custom-columns=MESSAGE:.message --no-headers");
  };

  ASSERT_NE(k8stest::Shell("kubectl cordon " + old_node).find("cordoned"), std::string::npos);
  EXPECT_TRUE(k8stest::Eventually([&] {
    return events("DrainBlocked").find("no ready, caught-up voter runs on another node") != std::string::npos;
  }, kChangeDeadline)) << events("DrainBlocked");

  const std::string leader = LabelledLeader();
  ASSERT_FALSE(leader.empty());
  const std::string follower = leader == "demo-2" ? "demo-1" : "demo-2";
  const std::string one = k8stest::Shell("kubectl drain " + old_node + " --pod-selector statefulset.kubernetes.io/pod-name=" +
                                         follower + " --ignore-daemonsets --delete-emptydir-data --timeout=120s");
  ASSERT_NE(one.find("pod/" + follower + " evicted"), std::string::npos) << one;
  EXPECT_TRUE(k8stest::Eventually([&] { return node_of(follower) == new_node && RoutedTo(follower); }, kFormDeadline))
      << "the leadership did not move to " << follower << " on " << new_node << "; the leader label is on "
      << LabelledLeader();
  EXPECT_NE(events("LeadershipTransferred").find(leader + " leads on node " + old_node + ", which is being drained"),
            std::string::npos) << events("LeadershipTransferred");

  const std::string rest =
      k8stest::Shell("kubectl drain " + old_node + " --ignore-daemonsets --delete-emptydir-data --timeout=240s");
  EXPECT_NE(rest.find("node/" + old_node + " drained"), std::string::npos) << rest;
  ASSERT_TRUE(k8stest::Eventually([&] {
    const auto pods = Pods();
    return pods.size() == 3 && MembersAgreeOn(3) && ConditionOf(Cluster(), "Ready") == "True/Ready" &&
           std::all_of(pods.begin(), pods.end(), [&](const Json& p) { return node_of(p["metadata"]["name"]) == new_node; });
  }, kFormDeadline)) << Cluster()["status"].dump(2);

  ExpectQuorumThroughout(watch);
  ExpectNoEmbedFailed(embedder);
  ExpectNoWriteFailedOrLost(writer);
  EXPECT_NE(k8stest::Shell("kubectl uncordon " + old_node).find("uncordoned"), std::string::npos);
}

// Two of three members frozen (SIGSTOP): the status says QuorumLost (with a Warning event), not
// an election; thawed, the cluster is Available again by itself.
TEST_F(OperatorE2E, AMajorityDownIsQuorumLostUntilItReturns) {
  std::vector<int> frozen;
  for (const Json& pod : Pods()) {
    if (frozen.size() < 2) frozen.push_back(ground_->PidOf(kNs, pod["metadata"]["name"]));
  }
  for (int pid : frozen) ASSERT_EQ(::kill(pid, SIGSTOP), 0);
  const bool lost = k8stest::Eventually([] { return ConditionOf(Cluster(), "Available") == "False/QuorumLost"; },
                                        kChangeDeadline);
  for (int pid : frozen) ASSERT_EQ(::kill(pid, SIGCONT), 0);
  ASSERT_TRUE(lost) << Cluster()["status"].dump(2);
  const std::string waited = WaitReady(120s);
  EXPECT_NE(waited.find("condition met"), std::string::npos) << waited;
  EXPECT_EQ(ConditionOf(Cluster(), "Available"), "True/QuorumReady");
  EXPECT_NE(k8stest::Shell("kubectl -n e2e get events --field-selector reason=QuorumLost").find("a quorum is 2"),
            std::string::npos);
}

TEST_F(OperatorE2E, AConvergedClusterCostsNoWrite) {
  ASSERT_TRUE(k8stest::Eventually([] { return ConditionOf(Cluster(), "Ready") == "True/Ready"; }, kFormDeadline));
  // A pod event makes the operator reconcile the cluster again: an annotation no one reads. The
  // status may still be catching up with the members' applied indexes (the earlier tests wrote to
  // the cluster, and a leader elected just before commits an entry of its term), so the operator
  // is poked until a pass writes nothing, five times at most; a pass that always writes fails.
  auto poke = [](const std::string& value) {
    const double reconciles = Reconciles(*first_operator_);
    EXPECT_TRUE(admin().MergePatch(res::kPods, kNs, "demo-0", {{"metadata", {{"annotations", {{"e2e/poke", value}}}}}}));
    EXPECT_TRUE(k8stest::Eventually([&] { return Reconciles(*first_operator_) > reconciles; }, kChangeDeadline));
  };
  std::map<std::string, std::string> before;
  bool quiet = false;
  for (int round = 1; round <= 5 && !quiet; ++round) {
    before = ResourceVersions();
    const double writes = Writes(*first_operator_);
    poke(std::to_string(round));
    quiet = Writes(*first_operator_) == writes;
  }
  EXPECT_TRUE(quiet) << "every pass wrote something";
  auto after = ResourceVersions();
  before.erase("pods/demo-0");  // changed by the poke itself
  after.erase("pods/demo-0");
  EXPECT_EQ(before, after);
}

TEST_F(OperatorE2E, DriftIsRepaired) {
  auto leader_service = admin().Get(res::kServices, kNs, "demo-leader");
  ASSERT_TRUE(leader_service);
  ASSERT_TRUE(admin().Delete(res::kServices, kNs, "demo-leader"));
  ASSERT_TRUE(k8stest::Eventually([&] {
    auto back = admin().Get(res::kServices, kNs, "demo-leader");
    return back && (*back)["metadata"]["uid"] != (*leader_service)["metadata"]["uid"];
  }, kChangeDeadline));
  ASSERT_TRUE(admin().MergePatch(res::kServices, kNs, "demo",
                                 {{"metadata", {{"labels", {{"app.kubernetes.io/name", "tampered"}}}}}}));
  ASSERT_TRUE(k8stest::Eventually([&] {
    auto svc = admin().Get(res::kServices, kNs, "demo");
    return svc && (*svc)["metadata"]["labels"].value("app.kubernetes.io/name", "") == "stego-worker";
  }, kChangeDeadline));
  // A follower labelled leader by hand loses the label again.
  const std::string leader = LabelledLeader();
  const std::string follower = AnyFollower(leader);
  ASSERT_TRUE(admin().MergePatch(res::kPods, kNs, follower, {{"metadata", {{"labels", {{"stegocluster.io/role", "leader"}}}}}}));
  ASSERT_TRUE(k8stest::Eventually([&] { return RoutedTo(leader); }, kChangeDeadline));
}

TEST_F(OperatorE2E, TheSecretIsNeverRegenerated) {
  ASSERT_FALSE(secret_version_.empty());
  auto secret = admin().Get(res::kSecrets, kNs, "demo-auth");
  ASSERT_TRUE(secret);
  EXPECT_EQ((*secret)["metadata"]["resourceVersion"], secret_version_);
}

TEST_F(OperatorE2E, ASecondOperatorTakesOverFromAKilledOneAndRedoesNothing) {
  second_operator_ = ground_->StartOperator("operator-b").release();
  // The standby serves its endpoints but does not act.
  EXPECT_EQ(Leading(*second_operator_), 0.0);
  first_operator_->Signal(SIGKILL);
  ASSERT_TRUE(k8stest::Eventually([&] { return Leading(*second_operator_) == 1.0; }, kChangeDeadline));
  auto lease = admin().Get(res::kLeases, operatortest::kOperatorNamespace, "stego-operator");
  ASSERT_TRUE(lease);
  EXPECT_EQ((*lease)["spec"]["holderIdentity"], "operator-b");
  // It reconciles the converged cluster and writes nothing...
  ASSERT_TRUE(k8stest::Eventually([&] { return Reconciles(*second_operator_) > 0; }, kChangeDeadline));
  EXPECT_EQ(Writes(*second_operator_), 0.0);
  // ...and repairs what breaks from now on.
  ASSERT_TRUE(admin().Delete(res::kServices, kNs, "demo-peers"));
  ASSERT_TRUE(k8stest::Eventually([&] { return admin().Get(res::kServices, kNs, "demo-peers").has_value(); }, kChangeDeadline));
}

// The Ingress, enabled since the cluster was applied, follows a new host (Traefik with it) and
// goes when disabled.
TEST_F(OperatorE2E, TheIngressFollowsTheSpec) {
  ASSERT_TRUE(admin().MergePatch(kStego, kNs, "demo", {{"spec", {{"ingress", {{"host", "renamed.test"}}}}}}));
  Json ingress;
  ASSERT_TRUE(k8stest::Eventually([&] {
    auto got = admin().Get(res::kIngresses, kNs, "demo");
    if (got) ingress = *got;
    return got && (*got)["spec"]["rules"][0].value("host", "") == "renamed.test";
  }, kChangeDeadline)) << ingress.dump(2);
  EXPECT_EQ(ingress["spec"]["ingressClassName"], "traefik");
  EXPECT_EQ(ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"], "demo-leader");
  EXPECT_TRUE(k8stest::Eventually([&] {
    return ground_->ThroughIngress("renamed.test", "GET", "/healthz").status == 200 &&
           ground_->ThroughIngress(kHost, "GET", "/healthz").status == 404;
  }, kChangeDeadline));

  ASSERT_TRUE(admin().MergePatch(kStego, kNs, "demo", {{"spec", {{"ingress", {{"enabled", false}}}}}}));
  ASSERT_TRUE(k8stest::Eventually([&] { return !admin().Get(res::kIngresses, kNs, "demo").has_value(); }, kChangeDeadline));
  EXPECT_TRUE(k8stest::Eventually([&] { return ground_->ThroughIngress("renamed.test", "GET", "/healthz").status == 404; },
                                  kChangeDeadline));
}

TEST_F(OperatorE2E, TheSpecsDefaultLsbBitsReachTheReplicatedConfiguration) {
  auto secret = admin().Get(res::kSecrets, kNs, "demo-auth");
  ASSERT_TRUE(secret);
  const std::string admin_key = *kube::DecodeBase64((*secret)["data"]["admin-key"].get<std::string>());
  const std::string follower = AnyFollower(Cluster()["status"]["leader"]);
  auto lsb_bits = [&] {
    HttpClient http(IpOf(follower), 8081);
    auto answer = http.Get("/api/v1/config", {{"Authorization", "Bearer " + admin_key}});
    return answer.status == 200 ? answer.Json()["config"].value("default_lsb_bits", 0) : -1;
  };
  EXPECT_EQ(lsb_bits(), 1);
  ASSERT_TRUE(admin().MergePatch(kStego, kNs, "demo", {{"spec", {{"worker", {{"defaultLsbBits", 3}}}}}}));
  // Written on the leader, replicated to every member.
  ASSERT_TRUE(k8stest::Eventually([&] { return lsb_bits() == 3; }, kChangeDeadline));
  EXPECT_NE(k8stest::Shell("kubectl -n e2e get events --field-selector reason=Configured").find("default_lsb_bits 3"),
            std::string::npos);
}

TEST_F(OperatorE2E, PausedClustersAreLeftAlone) {
  ProcessUnderTest& op = second_operator_ ? *second_operator_ : *first_operator_;
  // The annotation pauses as the spec field does.
  ASSERT_TRUE(admin().MergePatch(kStego, kNs, "demo", {{"metadata", {{"annotations", {{"stegocluster.io/paused", "true"}}}}}}));
  ASSERT_TRUE(k8stest::Eventually([] { return ConditionOf(Cluster(), "Progressing") == "False/Paused"; }, kChangeDeadline));
  ASSERT_TRUE(admin().MergePatch(kStego, kNs, "demo", {{"metadata", {{"annotations", {{"stegocluster.io/paused", nullptr}}}}}}));
  ASSERT_TRUE(k8stest::Eventually([] { return ConditionOf(Cluster(), "Ready") == "True/Ready"; }, kChangeDeadline));
  ASSERT_TRUE(admin().MergePatch(kStego, kNs, "demo", {{"spec", {{"paused", true}}}}));
  ASSERT_TRUE(k8stest::Eventually([] { return ConditionOf(Cluster(), "Progressing") == "False/Paused"; }, kChangeDeadline));
  EXPECT_EQ(ConditionOf(Cluster(), "Ready"), "False/Paused");
  EXPECT_NE(k8stest::Shell("kubectl -n e2e get events --field-selector reason=Paused").find("reconciling stopped"),
            std::string::npos);
  const double reconciles = Reconciles(op);
  ASSERT_TRUE(admin().Delete(res::kServices, kNs, "demo-leader"));
  ASSERT_TRUE(k8stest::Eventually([&] { return Reconciles(op) > reconciles; }, kChangeDeadline));
  EXPECT_FALSE(admin().Get(res::kServices, kNs, "demo-leader").has_value());
  ASSERT_TRUE(admin().MergePatch(kStego, kNs, "demo", {{"spec", {{"paused", false}}}}));
  ASSERT_TRUE(k8stest::Eventually([&] { return admin().Get(res::kServices, kNs, "demo-leader").has_value(); }, kChangeDeadline));
  const std::string waited = WaitReady(60s);
  EXPECT_NE(waited.find("condition met"), std::string::npos) << waited;
}

TEST_F(OperatorE2E, AnInvalidSpecIsRefusedByTheApiServer) {
  const std::string refused = ground_->ApplyCluster(kNs, "bad", "{ingress: {enabled: true}}");
  EXPECT_NE(refused.find("ingress.host is required when the ingress is enabled"), std::string::npos) << refused;
}

TEST_F(OperatorE2E, DeletingTheClusterRemovesEverythingItOwned) {
  ASSERT_TRUE(admin().Delete(kStego, kNs, "demo"));
  ASSERT_TRUE(k8stest::Eventually([] {
    for (auto [gvr, name] : std::vector<std::pair<const kube::GroupVersionResource*, std::string>>{
             {&res::kStatefulSets, "demo"}, {&res::kServices, "demo"}, {&res::kServices, "demo-peers"},
             {&res::kServices, "demo-leader"}, {&res::kSecrets, "demo-auth"}, {&res::kPodDisruptionBudgets, "demo"},
             {&res::kNetworkPolicies, "demo-peers"}}) {
      if (admin().Get(*gvr, kNs, name)) return false;
    }
    return Pods().empty();
  }, kFormDeadline));
}

}  // namespace
