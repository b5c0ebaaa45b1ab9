// The earlier prototype's own clients against a cluster of ours (docs/compatibility.md): the
// requests its load generator (crates/loadgen/src/main.rs) and its web GUI (static/app.js) send,
// as their source builds them, and every field they read, with the type they need. If one of
// these fails, the prototype's unchanged clients break.
#include <csignal>
#include <set>
#include <string>

#include "tests/cluster/cluster_fixture.h"

namespace {

using namespace clustertest;
using testsupport::FromBase64;
using testsupport::HeaderList;
using testsupport::HttpResponse;
using testsupport::MultipartBuilder;

// Where the GUI is served from in the demonstration (python3 -m http.server 8090).
constexpr const char* kGuiOrigin = "http://127.0.0.1:8090";

class Compat : public Cluster {
 protected:
  void SetUp() override {
    extra_args_ = {"--cors-origins", kGuiOrigin};
    Cluster::SetUp();
    WaitFullyFormed();
  }

  // loadgen's perform_embed: GET /api/dataset/{i}, then one multipart part `file` (secret.png,
  // image/png) with those bytes; reqwest sends Accept: */*. Success is any 2xx.
  HttpResponse LoadgenEmbed(const std::string& member, int index, std::string* secret) {
    auto client = Client(member);
    *secret = client.Get("/api/dataset/" + std::to_string(index % 50), {{"Accept", "*/*"}}).body;
    return client.PostMultipart("/api/embed", MultipartBuilder().File("file", "secret.png", "image/png", *secret),
                                {{"Accept", "*/*"}});
  }

  // The GUI's fetch() from another origin: the browser adds Origin; FormData('file', <File>)
  // sends the file's name and type.
  HttpResponse GuiPostFile(const std::string& member, const std::string& path, const std::string& filename,
                           const std::string& type, const std::string& bytes) {
    return Client(member).PostMultipart(path, MultipartBuilder().File("file", filename, type, bytes), Gui());
  }
  static HeaderList Gui() { return {{"Origin", kGuiOrigin}, {"Accept", "*/*"}}; }

  static void ExpectCorsAllowed(const HttpResponse& r) {
    EXPECT_EQ(r.Header("Access-Control-Allow-Origin"), kGuiOrigin) << r.status << " " << r.body;
  }

  // The GUI's displayClusterStatus and selectBestNode: what they read, with the types they need
  // (toFixed on the load figures, role === 'Leader', http://ip:http_port).
  static void ExpectGuiReadableStatus(const json& status) {
    ASSERT_TRUE(status["term"].is_number_unsigned()) << status;
    ASSERT_TRUE(status["nodes"].is_array()) << status;
    for (const auto& n : status["nodes"]) {
      EXPECT_TRUE(n["id"].is_string()) << n;
      EXPECT_TRUE(n["ip"].is_string()) << n;
      EXPECT_TRUE(n["http_port"].is_number_unsigned()) << n;
      EXPECT_TRUE(n["raft_port"].is_number_unsigned()) << n;
      EXPECT_TRUE(n["healthy"].is_boolean()) << n;
      EXPECT_TRUE(std::set<std::string>({"Leader", "Follower", "Learner"}).count(n["role"].get<std::string>())) << n;
      for (const char* k : {"cpu_pct", "mem_pct", "qps_1m", "p95_ms"}) EXPECT_TRUE(n[k].is_number()) << k << " " << n;
    }
  }
};

TEST_F(Compat, LoadgenEmbedsDatasetImagesThroughEveryMemberAndTheyComeBack) {
  int k = 0;
  for (const auto& [member, m] : members_) {
    for (int index : {0, 17, 49}) {
      std::string secret;
      const HttpResponse embedded = LoadgenEmbed(member, index + k, &secret);
      ASSERT_GE(embedded.status, 200) << member << ": " << embedded.body;
      ASSERT_LT(embedded.status, 300) << member << ": " << embedded.body;
      const json body = embedded.Json();
      EXPECT_EQ(body["secret_size_bytes"], secret.size());
      // loadgen's extract mode sends the dataset image itself and ignores the answer; a real
      // extract of what the embed returned gives the secret back, byte for byte.
      const std::string stego = FromBase64(body["stego_image_b64"]);
      const HttpResponse extracted = Client(member).PostMultipart(
          "/api/extract", MultipartBuilder().File("file", "stego.png", "image/png", stego), {{"Accept", "*/*"}});
      ASSERT_EQ(extracted.status, 200) << extracted.body;
      EXPECT_EQ(FromBase64(extracted.Json()["recovered_b64"]), secret) << member << " dataset " << index + k;
    }
    ++k;
  }
}

TEST_F(Compat, LoadgenExtractOfAPlainImageGetsAJsonAnswer) {
  auto client = Client("node2");
  const std::string plain = client.Get("/api/dataset/3").body;
  const HttpResponse r =
      client.PostMultipart("/api/extract", MultipartBuilder().File("file", "stego.png", "image/png", plain), {{"Accept", "*/*"}});
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_TRUE(r.Json()["error"].is_string()) << "the prototype's clients show error.error";
}

TEST_F(Compat, GuiFindsTheLeaderEmbedsAndExtractsFromAnotherOrigin) {
  const std::string leader = WaitLeader();
  // discoverNodes: GET /healthz with the page's Origin.
  const HttpResponse health = Client("node1").Get("/healthz", Gui());
  EXPECT_EQ(health.status, 200);
  ExpectCorsAllowed(health);
  // fetchClusterStatus, then selectBestNode: the node whose id is leader_id, at http://ip:http_port.
  const HttpResponse status_answer = Client("node1").Get("/cluster/status", Gui());
  ASSERT_EQ(status_answer.status, 200);
  ExpectCorsAllowed(status_answer);
  const json status = status_answer.Json();
  ExpectGuiReadableStatus(status);
  ASSERT_EQ(status["leader_id"], leader);
  int leaders = 0;
  for (const auto& n : status["nodes"]) {
    if (n["role"] != "Leader") continue;
    ++leaders;
    EXPECT_EQ(n["id"], leader);
    EXPECT_EQ(n["ip"], members_.at(leader).host);
    EXPECT_EQ(n["http_port"], members_.at(leader).http_port);
    EXPECT_TRUE(n["healthy"].get<bool>());
  }
  EXPECT_EQ(leaders, 1);

  // embedSecret(node, file) at the leader; displayEmbedResult reads these fields.
  std::string secret = Client(leader).Get("/api/dataset/21").body;
  const HttpResponse embedded = GuiPostFile(leader, "/api/embed", "photo.png", "image/png", secret);
  ASSERT_EQ(embedded.status, 200) << embedded.body;
  ExpectCorsAllowed(embedded);
  const json result = embedded.Json();
  EXPECT_TRUE(result["request_id"].is_string());
  for (const char* k : {"width", "height", "lsb_per_channel", "capacity_bytes"}) {
    EXPECT_TRUE(result["cover_info"][k].is_number_unsigned()) << k;
  }
  EXPECT_EQ(result["secret_size_bytes"], secret.size());
  const std::string stego = FromBase64(result["stego_image_b64"]);
  EXPECT_EQ(result["payload_size_bytes"], stego.size()) << "the prototype's meaning: the stego image's size";
  EXPECT_TRUE(result["notes"].is_string());

  // extractSecret(node, file) with the downloaded stego.png; displayExtractResult reads these.
  const HttpResponse extracted = GuiPostFile(leader, "/api/extract", "stego.png", "image/png", stego);
  ASSERT_EQ(extracted.status, 200) << extracted.body;
  ExpectCorsAllowed(extracted);
  const json recovered = extracted.Json();
  EXPECT_TRUE(recovered["request_id"].is_string());
  EXPECT_EQ(recovered["recovered_mime"], "image/png");
  EXPECT_EQ(recovered["recovered_size_bytes"], secret.size());
  EXPECT_EQ(FromBase64(recovered["recovered_b64"]), secret);

  // A failed embed: the GUI shows error.error from the JSON body, which it may read.
  const HttpResponse failed = Client(leader).PostMultipart("/api/embed", MultipartBuilder(), Gui());
  EXPECT_EQ(failed.status, 400);
  ExpectCorsAllowed(failed);
  EXPECT_TRUE(failed.Json()["error"].is_string());
}

// failNode/restoreNode: fetch(POST, JSON) is not a simple request, so the browser first sends a
// preflight, which must pass without a key; the admin routes themselves keep requiring it, so
// the prototype's buttons (which send none) get 401, readable by the page.
TEST_F(Compat, GuiFailButtonPassesThePreflightAndIsRefusedWithoutTheAdminKey) {
  const HttpResponse preflight =
      Client("node2").Request("OPTIONS", "/admin/fail", "",
                              {{"Origin", kGuiOrigin},
                               {"Access-Control-Request-Method", "POST"},
                               {"Access-Control-Request-Headers", "content-type"}});
  EXPECT_EQ(preflight.status, 204) << preflight.body;
  ExpectCorsAllowed(preflight);
  EXPECT_EQ(preflight.Header("Access-Control-Allow-Methods"), "POST");
  EXPECT_EQ(preflight.Header("Access-Control-Allow-Headers"), "content-type");
  HeaderList json_post = Gui();
  json_post.emplace_back("Content-Type", "application/json");
  for (const char* path : {"/admin/fail", "/admin/restore"}) {
    const HttpResponse refused = Client("node2").Request("POST", path, R"({"action":"pause"})", json_post);
    EXPECT_EQ(refused.status, 401) << path << ": " << refused.body;
    ExpectCorsAllowed(refused);
  }
  EXPECT_EQ(Client("node2").Get("/healthz").status, 200) << "the refused Fail button paused nothing";
}

// A member down: the GUI keeps its table, since the killed member's figures stay numbers.
TEST_F(Compat, ClusterStatusGivesNumbersForAKilledMember) {
  const std::string leader = WaitLeader();
  const std::string victim = Follower(leader);
  members_.at(victim).process->Signal(SIGKILL);
  members_.at(victim).process->WaitExit(5s);
  const HttpResponse answer = Client(leader).Get("/cluster/status", Gui());
  ASSERT_EQ(answer.status, 200);
  ExpectCorsAllowed(answer);
  const json status = answer.Json();
  ExpectGuiReadableStatus(status);
  bool seen = false;
  for (const auto& n : status["nodes"]) {
    if (n["id"] != victim) continue;
    seen = true;
    EXPECT_FALSE(n["healthy"].get<bool>());
    EXPECT_EQ(n["role"], "Follower");
    for (const char* k : {"cpu_pct", "mem_pct", "qps_1m", "p95_ms"}) EXPECT_EQ(n[k], 0) << k;
  }
  EXPECT_TRUE(seen) << status;
}

}  // namespace
