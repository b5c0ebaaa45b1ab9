// The replicated cover library against three real stego-worker processes: a cover uploaded
// through any member is listed, served and embeddable on every member; bad inputs get JSON
// errors; a delete reaches everyone; and no acknowledged upload is lost when the leader is killed.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <iterator>
#include <mutex>
#include <optional>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/cluster/cluster_fixture.h"

namespace {

using namespace clustertest;
using testsupport::MultipartBuilder;

const testsupport::HeaderList kAdminOnly = {{"Authorization", std::string("Bearer ") + kAdminKey}};

std::string Sha256Hex(const std::string& bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr);
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    static constexpr char kHex[] = "0123456789abcdef";
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 0xf];
  }
  return hex;
}

class Covers : public Cluster {
 protected:
  // A PNG the workers serve (dataset images are deterministic and distinct).
  std::string DatasetPng(const std::string& member, int i) {
    auto image = Client(member).Request("GET", "/api/v1/dataset/" + std::to_string(i));
    EXPECT_EQ(image.status, 200);
    return image.body;
  }

  testsupport::HttpResponse Upload(const std::string& member, const std::string& filename, const std::string& bytes,
                                   std::string_view content_type = "image/png") {
    return Client(member).PostMultipart("/api/v1/covers", MultipartBuilder().File("file", filename, content_type, bytes));
  }

  // The ids a member lists (consistent read); nullopt while it does not answer.
  std::optional<std::set<std::string>> ListedIds(const std::string& member) {
    try {
      const auto listed = Client(member).Request("GET", "/api/v1/covers?consistent=true");
      if (listed.status != 200) return std::nullopt;
      const json body = listed.Json();
      std::set<std::string> ids;
      for (const auto& c : body["covers"]) ids.insert(c["id"].get<std::string>());
      return ids;
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }

  // Sets configuration keys and waits until every member has applied them.
  void SetConfig(const std::string& leader, const json& patch) {
    ASSERT_EQ(PutConfig(leader, patch).status, 200);
    for (const auto& [name, m] : members_) {
      ASSERT_TRUE(Eventually([&] {
        const json config = Config(name)["config"];
        for (const auto& [key, value] : patch.items()) {
          if (config[key] != value) return false;
        }
        return true;
      })) << name;
    }
  }

  static void ExpectError(const testsupport::HttpResponse& r, int status, const std::string& code) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(r.Header("Content-Type").value_or(""), "application/json") << r.body;
    EXPECT_EQ(r.Json().value("code", ""), code) << r.body;
  }
};

TEST_F(Covers, CoverUploadedThroughAFollowerIsServedAndEmbeddableOnEveryMember) {
  WaitFullyFormed();
  const std::string leader = WaitLeader();
  const std::string follower = Follower(leader);
  const std::string png = DatasetPng(leader, 3);

  const auto created = Upload(follower, "holiday photo.png", png);
  ASSERT_EQ(created.status, 201) << created.body;
  const json cover = created.Json();
  const std::string id = cover["id"];
  EXPECT_EQ(id, Sha256Hex(png));
  EXPECT_EQ(created.Header("Location"), "/api/v1/covers/" + id);
  EXPECT_EQ(cover["name"], "holiday_photo.png");
  EXPECT_EQ(cover["size_bytes"], png.size());
  EXPECT_EQ(cover["format"], "png");
  EXPECT_EQ(cover["media_type"], "image/png");
  EXPECT_GT(cover["width"].get<int>(), 0);
  EXPECT_GT(cover["capacity_bytes"].get<int>(), 0);
  EXPECT_EQ(cover["created_at"].get<std::string>().size(), 20u) << cover["created_at"];

  // The same bytes again, through another member: the existing cover, unchanged.
  const auto again = Upload(leader, "other-name.png", png);
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.Json(), cover);
  EXPECT_EQ(again.Header("Location"), "/api/v1/covers/" + id);

  for (const auto& [name, m] : members_) {
    EXPECT_EQ(ListedIds(name), std::set<std::string>{id}) << name;
    const auto meta = Client(name).Request("GET", "/api/v1/covers/" + id);
    ASSERT_EQ(meta.status, 200) << name << ": " << meta.body;
    EXPECT_EQ(meta.Json(), cover) << name;
    const auto image = Client(name).Request("GET", "/api/v1/covers/" + id + "/image");
    ASSERT_EQ(image.status, 200) << name;
    EXPECT_EQ(image.Header("Content-Type"), "image/png");
    EXPECT_TRUE(image.body == png) << name << ": the library changed the bytes";
  }

  // Every member embeds into the library cover; another member extracts the message.
  std::vector<std::string> names;
  for (const auto& [name, m] : members_) names.push_back(name);
  for (std::size_t k = 0; k < names.size(); ++k) {
    const std::string message = "hidden by the library cover on " + names[k];
    const auto stego = Client(names[k]).PostMultipart(
        "/api/v1/embed", MultipartBuilder().Field("cover_id", id).Field("message", message).Field("lsb_bits", "2"));
    ASSERT_EQ(stego.status, 200) << names[k] << ": " << stego.body;
    EXPECT_NE(stego.Header("Content-Disposition").value_or("").find("holiday_photo-stego.png"), std::string::npos);
    const auto extracted = Client(names[(k + 1) % names.size()])
                               .PostMultipart("/api/v1/extract", MultipartBuilder().File("file", "s.png", "image/png", stego.body),
                                              {{"Accept", "application/json"}});
    ASSERT_EQ(extracted.status, 200) << extracted.body;
    EXPECT_EQ(extracted.Json()["message"], message);

    const auto compat = Client(names[k]).PostMultipart("/api/embed",
                                                       MultipartBuilder().Field("cover_id", id).Field("message", "hi"));
    ASSERT_EQ(compat.status, 200) << names[k] << ": " << compat.body;
    EXPECT_EQ(compat.Json()["cover_info"]["width"], cover["width"]);
    EXPECT_EQ(compat.Json()["cover_info"]["height"], cover["height"]);
  }
}

// The same image uploaded through every member at once is added once: the put applied first
// answers 201, every other 200 with that same cover.
TEST_F(Covers, ConcurrentUploadsOfTheSameImageAddItOnce) {
  WaitFullyFormed();
  const std::string png = DatasetPng(WaitLeader(), 7);
  std::vector<std::string> names;
  for (const auto& [name, m] : members_) names.push_back(name);
  std::vector<testsupport::HttpResponse> answers(names.size());
  std::vector<std::thread> uploaders;
  for (std::size_t k = 0; k < names.size(); ++k) {
    uploaders.emplace_back([&, k] { answers[k] = Upload(names[k], "same-" + names[k] + ".png", png); });
  }
  for (auto& t : uploaders) t.join();
  int created = 0;
  std::set<json> covers;
  for (const auto& a : answers) {
    ASSERT_TRUE(a.status == 201 || a.status == 200) << a.status << " " << a.body;
    created += a.status == 201;
    covers.insert(a.Json());
  }
  EXPECT_EQ(created, 1);
  EXPECT_EQ(covers.size(), 1u) << "every answer names the one cover, with the first upload's name";
  for (const auto& name : names) EXPECT_EQ(ListedIds(name), std::set<std::string>{Sha256Hex(png)}) << name;
}

TEST_F(Covers, BadInputsGetJsonErrors) {
  WaitFullyFormed();
  const std::string leader = WaitLeader();
  const std::string follower = Follower(leader);
  const std::string png = DatasetPng(leader, 1);
  const std::string unknown = Sha256Hex("never uploaded");

  ExpectError(Upload(follower, "notes.txt", "this is not an image", "text/plain"), 415, "unsupported_image");
  ExpectError(Upload(follower, "cut.png", png.substr(0, png.size() / 2)), 415, "unsupported_image");
  ExpectError(Client(follower).PostMultipart("/api/v1/covers", MultipartBuilder().Field("name", "x")), 400,
              "invalid_parameter");
  ExpectError(Client(follower).PostMultipart("/api/v1/covers", MultipartBuilder()), 400, "invalid_parameter");
  // Over the route's body limit: refused from the headers, before the body is sent.
  testsupport::RawConnection raw("127.0.0.1", members_.at(follower).http_port);
  raw.Send("POST /api/v1/covers HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary=b\r\n"
           "Content-Length: 14680064\r\nExpect: 100-continue\r\n\r\n");
  ExpectError(raw.ReadResponse(), 413, "payload_too_large");

  ExpectError(Client(follower).Request("GET", "/api/v1/covers/" + unknown), 404, "no_such_cover");
  ExpectError(Client(follower).Request("GET", "/api/v1/covers/" + unknown + "/image"), 404, "no_such_cover");
  ExpectError(Client(follower).Request("GET", "/api/v1/covers/not-a-hash"), 400, "invalid_parameter");
  ExpectError(Client(follower).Request("GET", "/api/v1/covers/" + unknown.substr(1) + "g"), 400, "invalid_parameter");
  const auto embed_unknown =
      Client(follower).PostMultipart("/api/v1/embed", MultipartBuilder().Field("cover_id", unknown).Field("message", "m"));
  ExpectError(embed_unknown, 404, "no_such_cover");
  EXPECT_EQ(embed_unknown.Json()["cover_id"], unknown);
  ExpectError(Client(follower).PostMultipart("/api/v1/embed",
                                             MultipartBuilder().Field("cover_id", "abc").Field("message", "m")),
              400, "invalid_parameter");
  ExpectError(Client(follower).PostMultipart("/api/embed",
                                             MultipartBuilder().Field("cover_id", unknown).Field("message", "m")),
              404, "no_such_cover");

  const auto created = Upload(follower, "c.png", png);
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = created.Json()["id"];
  const auto both = Client(follower).PostMultipart(
      "/api/v1/embed",
      MultipartBuilder().File("cover", "c.png", "image/png", png).Field("cover_id", id).Field("message", "m"));
  ExpectError(both, 400, "invalid_parameter");
  EXPECT_EQ(both.Json()["field"], "cover_id");
  const auto both_compat = Client(follower).PostMultipart(
      "/api/embed", MultipartBuilder().File("cover", "c.png", "image/png", png).Field("cover_id", id).Field("message", "m"));
  ExpectError(both_compat, 400, "invalid_parameter");
  EXPECT_EQ(both_compat.Json()["field"], "cover_id");

  ExpectError(Client(follower).Request("DELETE", "/api/v1/covers/" + id), 401, "unauthorized");
  ExpectError(Client(follower).Request("DELETE", "/api/v1/covers/" + unknown, {}, kAdminOnly), 404, "no_such_cover");
  ExpectError(Client(follower).Request("DELETE", "/api/v1/covers/zz", {}, kAdminOnly), 400, "invalid_parameter");

  // The replicated limits: every member refuses what the configuration no longer admits.
  SetConfig(leader, {{"max_covers", 1}});
  ExpectError(Upload(follower, "second.png", DatasetPng(leader, 2)), 409, "library_full");
  SetConfig(leader, {{"max_cover_bytes", 1024}});
  for (const auto& [name, m] : members_) {
    const auto too_big = Upload(name, "big.png", png);
    ExpectError(too_big, 413, "cover_too_large");
    EXPECT_EQ(too_big.Json()["max_cover_bytes"], 1024);
  }
  // A cover already in the library still embeds when the limits are lowered below it.
  SetConfig(leader, {{"max_pixels", 64}});
  ExpectError(Client(follower).PostMultipart("/api/v1/embed",
                                             MultipartBuilder().Field("cover_id", id).Field("message", "m")),
              413, "image_too_large");
}

TEST_F(Covers, DeletedCoverIsGoneFromEveryMember) {
  WaitFullyFormed();
  const std::string leader = WaitLeader();
  const std::string follower = Follower(leader);
  const auto kept = Upload(leader, "kept.png", DatasetPng(leader, 4));
  const auto doomed = Upload(leader, "doomed.png", DatasetPng(leader, 5));
  ASSERT_EQ(kept.status, 201);
  ASSERT_EQ(doomed.status, 201);
  const std::string kept_id = kept.Json()["id"], doomed_id = doomed.Json()["id"];

  const auto deleted = Client(follower).Request("DELETE", "/api/v1/covers/" + doomed_id, {}, kAdminOnly);
  ASSERT_EQ(deleted.status, 200) << deleted.body;
  EXPECT_EQ(deleted.Json()["deleted"]["id"], doomed_id);
  for (const auto& [name, m] : members_) {
    EXPECT_EQ(ListedIds(name), std::set<std::string>{kept_id}) << name;
    ExpectError(Client(name).Request("GET", "/api/v1/covers/" + doomed_id), 404, "no_such_cover");
    ExpectError(Client(name).PostMultipart("/api/v1/embed",
                                           MultipartBuilder().Field("cover_id", doomed_id).Field("message", "m")),
                404, "no_such_cover");
    EXPECT_EQ(Client(name).PostMultipart("/api/v1/embed",
                                         MultipartBuilder().Field("cover_id", kept_id).Field("message", "m")).status,
              200);
  }
  ExpectError(Client(leader).Request("DELETE", "/api/v1/covers/" + doomed_id, {}, kAdminOnly), 404, "no_such_cover");
}

// One writer uploads distinct covers through every member while the leader gets SIGKILL. Every
// upload answered 201 (or 200) is in the library of every member once the killed member is back
// from its data directory, with its bytes intact.
TEST_F(Covers, KillNineOfTheLeaderLosesNoAcknowledgedCover) {
  WaitFullyFormed();
  const std::string old_leader = WaitLeader();
  std::vector<std::string> pngs;
  for (int i = 0; i < 16; ++i) pngs.push_back(DatasetPng(old_leader, i));
  std::vector<std::string> order;
  for (const auto& [name, m] : members_) {
    if (name != old_leader) order.push_back(name);
  }
  order.push_back(old_leader);

  std::mutex mu;
  std::set<std::string> acked;
  std::atomic<int> acked_count = 0, acked_after_kill = 0;
  std::atomic<bool> killed = false, stop = false;
  std::thread writer([&] {
    for (std::size_t k = 0; !stop; ++k) {
      const std::string& png = pngs[k % pngs.size()];
      try {
        HttpClient c("127.0.0.1", members_.at(order[k % order.size()]).http_port, 10s);
        const auto r = c.PostMultipart("/api/v1/covers", MultipartBuilder().File("file", "c.png", "image/png", png));
        if (r.status == 201 || r.status == 200) {
          std::lock_guard lk(mu);
          acked.insert(r.Json()["id"].get<std::string>());
          ++acked_count;
          if (killed) ++acked_after_kill;
        }
      } catch (const std::exception&) {
      }
      // A write that was not acknowledged is not retried: it may or may not have been applied.
    }
  });
  ASSERT_TRUE(Eventually([&] { return acked_count >= 4; })) << "uploads did not start";
  members_.at(old_leader).process->Signal(SIGKILL);
  ASSERT_TRUE(members_.at(old_leader).process->WaitExit(5s).has_value());
  killed = true;
  ASSERT_TRUE(Eventually([&] { return acked_after_kill >= 4; }, 30s)) << "uploads did not resume";
  stop = true;
  writer.join();
  EXPECT_NE(WaitLeader(), old_leader);

  Start(old_leader);
  for (const auto& [name, m] : members_) {
    std::set<std::string> missing;
    ASSERT_TRUE(Eventually([&] {
      missing.clear();
      const auto listed = ListedIds(name);
      if (!listed) return false;
      std::set_difference(acked.begin(), acked.end(), listed->begin(), listed->end(),
                          std::inserter(missing, missing.end()));
      return missing.empty();
    }, 30s)) << name << " lacks " << missing.size() << " of " << acked.size() << " acknowledged covers";
    for (const std::string& id : acked) {
      const auto image = Client(name).Request("GET", "/api/v1/covers/" + id + "/image");
      ASSERT_EQ(image.status, 200) << name;
      EXPECT_EQ(Sha256Hex(image.body), id) << name;
    }
  }
  WaitFullyFormed();
}

// Without --peer there is no replicated state, so no library: 503 not_clustered, and embed
// with a cover_id likewise, while embed into the default cover works.
TEST(StandaloneCovers, AWorkerWithoutPeersHasNoLibrary) {
  testsupport::ProcessUnderTest solo({.binary = STEGO_WORKER_BINARY, .args = {"--http", "127.0.0.1:0"}});
  HttpClient client(solo.host(), solo.port());
  const std::string id(64, 'a');
  for (const auto& answer :
       {client.Get("/api/v1/covers"), client.Get("/api/v1/covers/" + id), client.Get("/api/v1/covers/" + id + "/image"),
        client.PostMultipart("/api/v1/covers", MultipartBuilder().File("file", "c.png", "image/png", "x")),
        client.PostMultipart("/api/v1/embed", MultipartBuilder().Field("cover_id", id).Field("message", "m"))}) {
    EXPECT_EQ(answer.status, 503) << answer.body;
    EXPECT_EQ(answer.Json()["code"], "not_clustered") << answer.body;
  }
  EXPECT_EQ(client.PostMultipart("/api/v1/embed", MultipartBuilder().Field("message", "m")).status, 200);
}

}  // namespace
