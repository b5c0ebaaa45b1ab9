// The worker's HTTP API, tested over HTTP against the real stego-worker binary.
#include <atomic>
#include <sstream>
#include <thread>

#include "tests/api/worker_fixture.h"
#include "tests/support/prometheus_text.h"

namespace apitest {
namespace {

TEST_F(WorkerApi, MessageRoundTripThroughTheDefaultCover) {
  auto stego = Embed(MultipartBuilder().Field("message", "meet at noon"));
  ASSERT_EQ(stego.status, 200) << stego.body;
  EXPECT_EQ(stego.Header("Content-Type"), "image/png");
  EXPECT_EQ(stego.Header("Content-Disposition"), "attachment; filename=\"stego.png\"");
  EXPECT_EQ(stego.Header("X-Stego-Member"), "api-test") << "a job's answer names the worker it ran on";
  const stego::Image image = Decode(stego.body);
  EXPECT_EQ(image.width, 1920);
  EXPECT_EQ(image.height, 1080);

  auto message = Extract(stego.body);
  ASSERT_EQ(message.status, 200) << message.body;
  EXPECT_EQ(message.body, "meet at noon");
  EXPECT_EQ(message.Header("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(message.Header("Content-Disposition"), "attachment; filename=\"message.txt\"");
  EXPECT_EQ(message.Header("X-Stego-Member"), "api-test");
}

TEST_F(WorkerApi, FileRoundTripKeepsNameAndTypeInEveryFormatWithPassword) {
  const std::string cover = Encode(stego::SyntheticCover(320, 240, 7));
  const std::string secret = RandomBytes(20'000, 1);
  for (const char* format : {"png", "bmp", "tiff", "webp"}) {
    SCOPED_TRACE(format);
    auto stego = Embed(MultipartBuilder()
                           .File("cover", "holiday.png", "image/png", cover)
                           .File("file", "report.pdf", "application/pdf", secret)
                           .Field("password", "s3cret")
                           .Field("lsb_bits", "2")
                           .Field("format", format));
    ASSERT_EQ(stego.status, 200) << stego.body;
    EXPECT_EQ(stego.Header("Content-Disposition"),
              "attachment; filename=\"holiday-stego." + std::string(format == std::string("tiff") ? "tiff" : format) +
                  "\"");
    auto recovered = Extract(stego.body, "s3cret");
    ASSERT_EQ(recovered.status, 200) << recovered.body;
    EXPECT_TRUE(recovered.body == secret);
    EXPECT_EQ(recovered.Header("Content-Type"), "application/pdf");
    EXPECT_EQ(recovered.Header("Content-Disposition"), "attachment; filename=\"report.pdf\"");
    EXPECT_EQ(recovered.Header("X-Content-Type-Options"), "nosniff");

    ExpectError(Extract(stego.body), 422, "password_required");
    ExpectError(Extract(stego.body, "wrong"), 422, "wrong_password");
  }
}

TEST_F(WorkerApi, JsonAnswersCarryTheImageAndTheFigures) {
  auto embedded = Embed(MultipartBuilder().Field("message", std::string(5000, 'a')), kJson);
  ASSERT_EQ(embedded.status, 200) << embedded.body;
  const json body = embedded.Json();
  EXPECT_EQ(body["mime"], "image/png");
  EXPECT_EQ(body["secret_size_bytes"], 5000);
  EXPECT_TRUE(body["compressed"].get<bool>());  // 5000 equal bytes deflate well
  EXPECT_FALSE(body["encrypted"].get<bool>());
  EXPECT_LT(body["payload_size_bytes"].get<int>(), 5000);
  EXPECT_EQ(body["cover_info"]["width"], 1920);
  EXPECT_EQ(body["cover_info"]["lsb_per_channel"], 1);
  EXPECT_EQ(body["request_id"], embedded.Header("X-Request-Id").value_or(""));

  auto extracted = Extract(FromBase64(body["stego_image_b64"]), "", kJson);
  ASSERT_EQ(extracted.status, 200) << extracted.body;
  const json recovered = extracted.Json();
  EXPECT_EQ(recovered["message"], std::string(5000, 'a'));
  EXPECT_EQ(FromBase64(recovered["data_b64"]), std::string(5000, 'a'));
  EXPECT_EQ(recovered["size_bytes"], 5000);
  EXPECT_EQ(recovered["mime"], "text/plain; charset=utf-8");
}

// The prototype's embed: `file` is the secret, hidden in the default cover; the answer's
// payload_size_bytes is the stego PNG's size, and extract gives the file back with its type.
TEST_F(WorkerApi, CompatibilityEmbedHidesTheUploadedFileInTheDefaultCover) {
  const std::string secret = RandomBytes(3000, 7);
  auto embedded = Client().PostMultipart("/api/embed", MultipartBuilder().File("file", "secret.bin", "application/pdf", secret));
  ASSERT_EQ(embedded.status, 200) << embedded.body;
  const json body = embedded.Json();
  EXPECT_EQ(body["cover_info"]["width"], 1920);
  EXPECT_EQ(body["cover_info"]["height"], 1080);
  EXPECT_EQ(body["secret_size_bytes"], 3000);
  const std::string stego = FromBase64(body["stego_image_b64"]);
  EXPECT_EQ(body["payload_size_bytes"], stego.size());
  auto extracted = Client().PostMultipart("/api/extract", MultipartBuilder().File("file", "stego.png", "image/png", stego));
  ASSERT_EQ(extracted.status, 200) << extracted.body;
  EXPECT_EQ(FromBase64(extracted.Json()["recovered_b64"]), secret);
  EXPECT_EQ(extracted.Json()["recovered_mime"], "application/pdf");
  ExpectError(Client().PostMultipart("/api/embed", MultipartBuilder().Field("password", "p")), 400, "invalid_parameter");
}

// The prototype's clients cannot name a depth: a secret too large for 1 bit per channel goes
// 2 bits deep (reported in cover_info); a depth named by the request is kept, and refused if
// too small.
// As the prototype answered 413: a secret larger than the default cover holds at the depth used.
TEST_F(WorkerApi, CompatibilityEmbedRefusesASecretTheDepthCannotHold) {
  const std::string secret = RandomBytes(900'000, 11);  // 1920x1080 holds 777,576 bytes at 1 bit
  ExpectError(Client().PostMultipart("/api/embed", MultipartBuilder().File("file", "big.bin", "application/zip", secret)),
              413, "capacity_exceeded");
  auto embedded = Client().PostMultipart(
      "/api/embed", MultipartBuilder().File("file", "big.bin", "application/zip", secret).Field("lsb_bits", "2"));
  ASSERT_EQ(embedded.status, 200) << embedded.body.substr(0, 300);
  EXPECT_EQ(embedded.Json()["cover_info"]["lsb_per_channel"], 2);
  EXPECT_GE(embedded.Json()["cover_info"]["capacity_bytes"].get<size_t>(), secret.size());
  auto extracted = Client().PostMultipart(
      "/api/extract", MultipartBuilder().File("file", "s.png", "image/png", FromBase64(embedded.Json()["stego_image_b64"])));
  ASSERT_EQ(extracted.status, 200);
  EXPECT_EQ(FromBase64(extracted.Json()["recovered_b64"]), secret);
}

// Our extensions of the prototype's embed: an uploaded `cover`, a `message` instead of `file`.
TEST_F(WorkerApi, CompatibilityEndpointsKeepThePrototypeFields) {
  const std::string cover = Encode(stego::SyntheticCover(200, 100, 3));
  auto embedded = Client().PostMultipart(
      "/api/embed", MultipartBuilder().File("cover", "test.png", "image/png", cover).Field("message", "hello"));
  ASSERT_EQ(embedded.status, 200) << embedded.body;
  const json body = embedded.Json();
  for (const char* field : {"request_id", "cover_info", "secret_size_bytes", "payload_size_bytes", "stego_image_b64",
                            "notes"}) {
    EXPECT_TRUE(body.contains(field)) << field;
  }
  EXPECT_EQ(body["cover_info"]["width"], 200);
  EXPECT_EQ(body["cover_info"]["height"], 100);
  EXPECT_EQ(body["cover_info"]["channels"], 3);
  EXPECT_EQ(body["cover_info"]["lsb_per_channel"], 1);
  EXPECT_GT(body["cover_info"]["capacity_bytes"].get<int>(), 5);  // at least the message itself
  EXPECT_EQ(body["secret_size_bytes"], 5);
  EXPECT_EQ(body["payload_size_bytes"], FromBase64(body["stego_image_b64"]).size());

  auto extracted = Client().PostMultipart(
      "/api/extract", MultipartBuilder().File("file", "out.png", "image/png", FromBase64(body["stego_image_b64"])));
  ASSERT_EQ(extracted.status, 200) << extracted.body;
  const json recovered = extracted.Json();
  EXPECT_EQ(recovered["recovered_size_bytes"], 5);
  EXPECT_EQ(recovered["recovered_mime"], "text/plain; charset=utf-8");
  EXPECT_EQ(FromBase64(recovered["recovered_b64"]), "hello");
  EXPECT_TRUE(recovered["request_id"].is_string());

  auto dataset = Client().Get("/api/dataset/3");
  ASSERT_EQ(dataset.status, 200);
  EXPECT_EQ(dataset.body, Client().Get("/api/v1/dataset/3").body);
}

TEST_F(WorkerApi, CapacityIsExactAtTheByteAndOneOverIsRefused) {
  const std::string cover = Encode(stego::SyntheticCover(96, 64, 11));
  auto capacity = Client().PostMultipart(
      "/api/v1/capacity", MultipartBuilder().File("cover", "c.png", "image/png", cover).Field("lsb_bits", "3"));
  ASSERT_EQ(capacity.status, 200) << capacity.body;
  const json figures = capacity.Json();
  EXPECT_EQ(figures["format"], "png");
  EXPECT_EQ(figures["cover_info"]["width"], 96);
  EXPECT_EQ(figures["cover_info"]["lsb_per_channel"], 3);
  const size_t exact = figures["cover_info"]["capacity_bytes"];
  EXPECT_EQ(exact, figures["capacity_bytes_by_lsb"]["3"].get<size_t>());
  EXPECT_LT(figures["capacity_bytes_with_password"].get<size_t>(), exact);
  EXPECT_LT(exact, 96u * 64u * 3u * 3u / 8u);

  // Random bytes do not deflate: exactly the capacity fits, one byte more does not.
  const std::string full = RandomBytes(exact, 5);
  auto fits = Embed(MultipartBuilder().File("cover", "c.png", "image/png", cover).Field("message", full).Field("lsb_bits", "3"));
  ASSERT_EQ(fits.status, 200) << fits.body;
  EXPECT_EQ(Extract(fits.body).body, full);
  auto over = Embed(MultipartBuilder()
                        .File("cover", "c.png", "image/png", cover)
                        .Field("message", full + "x")
                        .Field("lsb_bits", "3"));
  ExpectError(over, 413, "capacity_exceeded");
  EXPECT_EQ(over.Json()["available_bytes"].get<size_t>() + 1, over.Json()["needed_bytes"].get<size_t>());

  auto defaults = Client().Post("/api/v1/capacity", "", "");
  ASSERT_EQ(defaults.status, 200) << defaults.body;
  EXPECT_EQ(defaults.Json()["cover_info"]["width"], 1920);
}

TEST_F(WorkerApi, DatasetServesFiftyDeterministicImages) {
  auto first = Client().Get("/api/v1/dataset/0");
  ASSERT_EQ(first.status, 200);
  EXPECT_EQ(first.Header("Content-Type"), "image/png");
  EXPECT_FALSE(first.Header("X-Stego-Member")) << "not a job";
  EXPECT_EQ(first.body, Client().Get("/api/v1/dataset/0").body);
  EXPECT_NE(first.body, Client().Get("/api/v1/dataset/1").body);
  EXPECT_EQ(Client().Get("/api/v1/dataset/49").status, 200);
  ExpectError(Client().Get("/api/v1/dataset/50"), 404, "not_found");
  ExpectError(Client().Get("/api/v1/dataset/-1"), 404, "not_found");
  ExpectError(Client().Get("/api/v1/dataset/x"), 404, "not_found");
}

TEST_F(WorkerApi, BadRequestsGetTheirStatusAndCode) {
  ExpectError(Embed(MultipartBuilder().Field("lsb_bits", "1")), 400, "invalid_parameter");  // no payload
  ExpectError(Embed(MultipartBuilder().Field("message", "a").File("file", "f", "text/plain", "b")), 400,
              "invalid_parameter");
  ExpectError(Embed(MultipartBuilder().Field("message", "a").Field("lsb_bits", "5")), 400, "invalid_parameter");
  ExpectError(Embed(MultipartBuilder().Field("message", "a").Field("lsb_bit", "2")), 400, "invalid_parameter");
  ExpectError(Embed(MultipartBuilder().Field("message", "a").Field("format", "gif")), 400, "invalid_parameter");
  ExpectError(Embed(MultipartBuilder().Field("message", "a").Field("format", "jpeg")), 400, "lossy_output");
  ExpectError(Embed(MultipartBuilder().Field("message", "a").File("cover", "c.txt", "text/plain", "not an image")),
              415, "unsupported_image");
  ExpectError(Client().Post("/api/v1/embed", "message=a", "application/x-www-form-urlencoded"), 415,
              "multipart_not_form_data");
  ExpectError(Client().Post("/api/v1/embed", "--x\r\nbroken", "multipart/form-data; boundary=x"), 400,
              "multipart_truncated");
  ExpectError(Client().Get("/api/v1/nothing"), 404, "not_found");
  auto wrong_method = Client().Get("/api/v1/embed");
  ExpectError(wrong_method, 405, "method_not_allowed");
  EXPECT_EQ(wrong_method.Header("Allow"), "POST");
  ExpectError(Extract(Encode(stego::SyntheticCover(64, 64, 2))), 422, "no_payload");
  ExpectError(Client().PostMultipart("/api/v1/extract", MultipartBuilder().Field("password", "p")), 400,
              "invalid_parameter");
}

TEST_F(WorkerApi, AlteredOrCroppedStegoImagesAreRefusedWithTheirOwnError) {
  const std::string cover = Encode(stego::SyntheticCover(128, 128, 9));
  auto stego = Embed(MultipartBuilder().File("cover", "c.png", "image/png", cover).Field("message", RandomBytes(2000, 3)));
  ASSERT_EQ(stego.status, 200) << stego.body;
  stego::Image image = Decode(stego.body);

  stego::Image tampered = image;
  tampered.pixels[3000] ^= 1;  // one low bit inside the payload body
  ExpectError(Extract(Encode(tampered)), 422, "crc_mismatch");

  stego::Image cropped = stego::Image::Blank(128, 16, image.channels);
  std::copy_n(image.pixels.begin(), cropped.pixels.size(), cropped.pixels.begin());
  ExpectError(Extract(Encode(cropped)), 422, "truncated_payload");
}

TEST_F(WorkerApi, ConcurrentClientsEachGetTheirOwnPayloadBack) {
  const std::string cover = Encode(stego::SyntheticCover(256, 256, 21));
  std::atomic<int> good{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 6; ++c) {
    clients.emplace_back([&, c] {
      HttpClient client(worker_->host(), worker_->port());
      for (int i = 0; i < 4; ++i) {
        const std::string secret = RandomBytes(500 + 100 * c + i, 100 * c + i);
        auto stego = client.PostMultipart(
            "/api/v1/embed", MultipartBuilder().File("cover", "c.png", "image/png", cover).Field("message", secret));
        MultipartBuilder form;
        form.File("file", "s.png", "image/png", stego.body);
        auto back = client.PostMultipart("/api/v1/extract", form);
        if (stego.status == 200 && back.status == 200 && back.body == secret) ++good;
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(good.load(), 24);
}

TEST_F(WorkerApi, ExpectContinueGetsOneHundredThenTheAnswer) {
  const std::string body = MultipartBuilder().Field("message", "hi").Body();
  testsupport::RawConnection raw(worker_->host(), worker_->port());
  raw.Send("POST /api/v1/embed HTTP/1.1\r\nHost: t\r\nContent-Type: " + MultipartBuilder().ContentType() +
           "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_EQ(raw.ReadUntil("\r\n\r\n"), "HTTP/1.1 100 Continue\r\n\r\n");
  raw.Send(body);
  auto response = raw.ReadResponse();
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.Header("Content-Type"), "image/png");
}

TEST_F(WorkerApi, MetricsCountRequestsByRouteAndStatus) {
  ASSERT_EQ(Client().Get("/api/v1/dataset/2").status, 200);
  auto metrics = Client().Get("/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.Header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  std::string error;
  auto parsed = testsupport::ParsePromText(metrics.body, &error);
  ASSERT_TRUE(parsed) << error;
  EXPECT_GE(parsed->Sum("http_requests_total", {{"route", "dataset"}, {"status", "200"}}), 1);
  EXPECT_GE(parsed->Sum("http_request_duration_seconds_count", {{"route", "dataset"}}), 1);
  EXPECT_GT(parsed->Sum("http_response_body_bytes_total", {{"route", "dataset"}}), 0);
  EXPECT_TRUE(parsed->Value("http_compute_queue_depth").has_value());
  EXPECT_TRUE(parsed->Value("http_requests_in_flight").has_value());
  EXPECT_GT(parsed->Value("process_resident_memory_bytes").value_or(0), 0);
  EXPECT_EQ(parsed->Value("stego_build_info", {{"version", STEGO_VERSION}, {"node", "api-test"}}), 1);
}

TEST_F(WorkerApi, OpenApiDocumentIsServed) {
  auto response = Client().Get("/openapi.json");
  ASSERT_EQ(response.status, 200);
  const json document = response.Json();
  EXPECT_TRUE(document["paths"].contains("/api/v1/embed"));
}

TEST_F(WorkerApi, AdminRoutesNeedTheKeyAndPauseAnswers503UntilRestore) {
  ExpectError(Client().Post("/admin/fail", R"({"action":"pause"})", "application/json"), 401, "unauthorized");
  ExpectError(Client().Post("/admin/fail", R"({"action":"pause"})", "application/json",
                            {{"Authorization", "Bearer nope"}}),
              401, "unauthorized");
  const testsupport::HeaderList admin = {{"Authorization", std::string("Bearer ") + kAdminKey}};
  ExpectError(Client().Post("/admin/fail", R"({"action":"dance"})", "application/json", admin), 400,
              "invalid_parameter");
  ASSERT_EQ(Client().Post("/admin/fail", R"({"action":"pause"})", "application/json", admin).status, 200);
  ExpectError(Client().Get("/healthz"), 503, "paused");
  ExpectError(Embed(MultipartBuilder().Field("message", "x")), 503, "paused");
  ASSERT_EQ(Client().Post("/admin/restore", "", "application/json", admin).status, 200);
  EXPECT_EQ(Embed(MultipartBuilder().Field("message", "x")).status, 200);
}

// Tests below start workers of their own: they change or end the process.

TEST(WorkerProcess, AdminCrashExitsAtOnce) {
  ProcessUnderTest worker(WorkerOptions());
  HttpClient client(worker.host(), worker.port());
  const testsupport::HeaderList admin = {{"Authorization", std::string("Bearer ") + kAdminKey}};
  EXPECT_ANY_THROW(client.Post("/admin/fail", R"({"action":"crash"})", "application/json", admin));
  EXPECT_EQ(worker.WaitExit(std::chrono::seconds(5)), 1);
}

TEST(WorkerProcess, AdminRoutesAreRefusedWithoutAConfiguredKey) {
  auto options = WorkerOptions();
  std::erase_if(options.env, [](const auto& entry) { return entry.first == "STEGO_ADMIN_KEY"; });
  options.unset_env = {"STEGO_ADMIN_KEY"};
  ProcessUnderTest worker(options);
  HttpClient client(worker.host(), worker.port());
  auto response = client.Post("/admin/fail", R"({"action":"crash"})", "application/json",
                              {{"Authorization", "Bearer anything"}});
  EXPECT_EQ(response.status, 403);
  EXPECT_EQ(response.Json()["code"], "admin_disabled");
  EXPECT_TRUE(worker.Running());
}

// What the pod's preStop hook asks (app/pre_stop.h): out of the Service's endpoints, yet every
// request that still arrives is answered.
TEST(WorkerProcess, DrainTurnsTheWorkerUnreadyForGoodWhileItKeepsServing) {
  ProcessUnderTest worker(WorkerOptions());
  HttpClient client(worker.host(), worker.port());
  const testsupport::HeaderList admin = {{"Authorization", std::string("Bearer ") + kAdminKey}};
  ASSERT_EQ(client.Get("/readyz").status, 200);
  EXPECT_EQ(client.Post("/admin/drain", "", "application/json").status, 401);
  ASSERT_EQ(client.Get("/readyz").status, 200);
  const auto drained = client.Post("/admin/drain", "", "application/json", admin);
  ASSERT_EQ(drained.status, 200) << drained.body;
  EXPECT_EQ(drained.Json()["status"], "draining");
  const auto unready = client.Get("/readyz");
  EXPECT_EQ(unready.status, 503);
  EXPECT_EQ(unready.Json()["detail"], "draining: this member is shutting down");
  EXPECT_EQ(client.Get("/healthz").status, 200) << "alive: the kubelet must not restart it";
  EXPECT_EQ(client.PostMultipart("/api/v1/embed", MultipartBuilder().Field("message", "still here")).status, 200);
  // A pause and a restore do not undo the drain.
  ASSERT_EQ(client.Post("/admin/fail", R"({"action":"pause"})", "application/json", admin).status, 200);
  ASSERT_EQ(client.Post("/admin/restore", "", "application/json", admin).status, 200);
  EXPECT_EQ(client.Get("/readyz").status, 503);
}

TEST(WorkerProcess, UploadsOverTheLimitGet413BeforeTheBodyIsSent) {
  ProcessUnderTest worker(WorkerOptions({"--max-upload-bytes", "65536"}));
  testsupport::RawConnection raw(worker.host(), worker.port());
  raw.Send("POST /api/v1/embed HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary=b\r\n"
           "Content-Length: 1000000\r\nExpect: 100-continue\r\n\r\n");
  auto response = raw.ReadResponse();
  EXPECT_EQ(response.status, 413);
  EXPECT_EQ(response.Json()["code"], "payload_too_large");
}

TEST(WorkerProcess, CoversOverThePixelLimitAreRefusedFromTheHeader) {
  ProcessUnderTest worker(WorkerOptions({"--max-pixels", "10000"}));
  HttpClient client(worker.host(), worker.port());
  auto response = client.PostMultipart(
      "/api/v1/embed",
      MultipartBuilder().File("cover", "c.png", "image/png", Encode(stego::SyntheticCover(200, 100, 1))).Field("message", "x"));
  EXPECT_EQ(response.status, 413);
  EXPECT_EQ(response.Json()["code"], "image_too_large");
}

// Each embed into the default cover is charged 16 MiB and its body (api::kStegoJobWorkingSetBytes):
// a budget of 60 MiB admits three at a time, one running and two waiting.
TEST(WorkerProcess, EmbedsBeyondTheQueueMemoryBudgetAnswer503WhileHealthStillAnswers) {
  ProcessUnderTest worker(WorkerOptions({"--threads", "1", "--queue-memory-bytes", std::to_string(60 << 20)}));
  std::atomic<int> ok{0}, overloaded{0}, other{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 8; ++c) {
    clients.emplace_back([&] {
      HttpClient client(worker.host(), worker.port());
      for (int i = 0; i < 3; ++i) {
        // The default 1080p cover: each embed takes tens of milliseconds of compute.
        auto response = client.PostMultipart("/api/v1/embed", MultipartBuilder().Field("message", "load"));
        if (response.status == 200) {
          ++ok;
        } else if (response.status == 503 && response.Json()["code"] == "overloaded" &&
                   response.Header("Retry-After").has_value() &&
                   response.Json()["detail"].get<std::string>().find("memory budget") != std::string::npos) {
          ++overloaded;
        } else {
          ++other;
        }
      }
    });
  }
  HttpClient probe(worker.host(), worker.port());
  for (int i = 0; i < 5; ++i) EXPECT_EQ(probe.Get("/healthz").status, 200);
  for (auto& t : clients) t.join();
  EXPECT_GT(ok.load(), 0);
  EXPECT_GT(overloaded.load(), 0);
  EXPECT_EQ(other.load(), 0);
  auto metrics = testsupport::ParsePromText(probe.Get("/metrics").body, nullptr);
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->Value("http_compute_memory_budget_bytes"), static_cast<double>(60 << 20));
  EXPECT_GT(metrics->Value("http_rejected_total", {{"reason", "overloaded"}}).value_or(0), 0.0);
}

TEST(WorkerProcess, AnEmbedLargerThanTheWholeBudgetIsRefusedWithoutRetryAfter) {
  ProcessUnderTest worker(WorkerOptions({"--queue-memory-bytes", "1000000"}));
  HttpClient client(worker.host(), worker.port());
  auto response = client.PostMultipart("/api/v1/embed", MultipartBuilder().Field("message", "too big"));
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(response.Json()["code"], "overloaded");
  EXPECT_FALSE(response.Header("Retry-After").has_value()) << "retrying cannot help";
  EXPECT_NE(response.Json()["detail"].get<std::string>().find("whole compute memory budget"), std::string::npos)
      << response.body;
  EXPECT_EQ(client.Get("/healthz").status, 200);
}

// The burst the prototype's load generator sends: every request queues, none is refused.
TEST(WorkerProcess, ThirtyTwoConcurrentEmbedsWithDefaultSettingsAllSucceed) {
  ProcessUnderTest worker(WorkerOptions());
  constexpr int kClients = 32;
  std::atomic<int> ok{0};
  std::vector<std::string> failures(kClients);
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      HttpClient client(worker.host(), worker.port(), std::chrono::seconds(120));
      auto response = client.PostMultipart(
          "/api/v1/embed", MultipartBuilder().Field("message", "client " + std::to_string(c)));
      if (response.status == 200) {
        ++ok;
      } else {
        failures[static_cast<size_t>(c)] = std::to_string(response.status) + " " + response.body;
      }
    });
  }
  for (auto& t : clients) t.join();
  for (const auto& failure : failures) EXPECT_TRUE(failure.empty()) << failure;
  EXPECT_EQ(ok.load(), kClients);
  HttpClient probe(worker.host(), worker.port());
  auto metrics = testsupport::ParsePromText(probe.Get("/metrics").body, nullptr);
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->Value("http_rejected_total", {{"reason", "overloaded"}}).value_or(0), 0.0);
  // A job's charge is returned when its compute thread is done with it, which may be just after
  // its answer has reached the client.
  EXPECT_TRUE(testsupport::Eventually([&] {
    auto now = testsupport::ParsePromText(probe.Get("/metrics").body, nullptr);
    return now && now->Value("http_compute_memory_in_use_bytes") == 0.0;
  }, std::chrono::seconds(30))) << "every charge returned";
}

TEST(WorkerProcess, SigtermFinishesInFlightRequestsAndExitsZero) {
  ProcessUnderTest worker(WorkerOptions());
  HttpResponse response;
  std::thread client([&] {
    HttpClient http(worker.host(), worker.port());
    response = http.PostMultipart("/api/v1/embed", MultipartBuilder().Field("message", "last words"));
  });
  // Signal only once the embed is running on the compute pool.
  HttpClient probe(worker.host(), worker.port());
  for (int i = 0; i < 500; ++i) {
    auto parsed = testsupport::ParsePromText(probe.Get("/metrics").body, nullptr);
    if (parsed && parsed->Value("http_compute_active").value_or(0) >= 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  probe.Close();
  worker.Signal(SIGTERM);
  client.join();
  EXPECT_EQ(worker.WaitExit(std::chrono::seconds(10)), 0);
  EXPECT_EQ(response.status, 200);
}

TEST(WorkerProcess, JsonLogsAreOneObjectPerLine) {
  ProcessUnderTest worker(WorkerOptions({"--log-format", "json"}));
  HttpClient client(worker.host(), worker.port());
  ASSERT_EQ(client.Get("/api/v1/dataset/0").status, 200);
  worker.Stop();
  std::istringstream lines(worker.Output());
  int parsed = 0;
  for (std::string line; std::getline(lines, line);) {
    const json entry = json::parse(line);
    EXPECT_TRUE(entry.contains("time") && entry.contains("level") && entry.contains("msg")) << line;
    ++parsed;
  }
  EXPECT_GE(parsed, 3);
}

// CORS for the prototype's GUI (or any page of another origin) with --cors-origins.
TEST(WorkerProcess, CorsServesAllowedOriginsPreflightsWithoutAuthAndEvenWhilePaused) {
  ProcessUnderTest worker(WorkerOptions({"--cors-origins", "http://gui.example:8090"}));
  HttpClient client(worker.host(), worker.port());
  const testsupport::HeaderList gui = {{"Origin", "http://gui.example:8090"}};
  auto preflight = [&](std::string_view path, std::string origin, std::string headers) {
    return client.Request("OPTIONS", path, "",
                          {{"Origin", std::move(origin)}, {"Access-Control-Request-Method", "POST"},
                           {"Access-Control-Request-Headers", std::move(headers)}});
  };
  // The preflight of the GUI's JSON POST to an admin route: no key needed to ask.
  auto admin = preflight("/admin/fail", "http://gui.example:8090", "content-type");
  EXPECT_EQ(admin.status, 204) << admin.body;
  EXPECT_EQ(admin.Header("Access-Control-Allow-Origin"), "http://gui.example:8090");
  EXPECT_EQ(admin.Header("Access-Control-Allow-Methods"), "POST");
  EXPECT_EQ(admin.Header("Access-Control-Allow-Headers"), "content-type");
  EXPECT_TRUE(admin.Header("Access-Control-Max-Age"));
  EXPECT_EQ(preflight("/api/v1/config", "http://gui.example:8090", "authorization, content-type")
                .Header("Access-Control-Allow-Methods"),
            "GET, HEAD, PUT");

  auto embedded = client.PostMultipart("/api/embed", MultipartBuilder().Field("message", "x"), gui);
  ASSERT_EQ(embedded.status, 200) << embedded.body;
  EXPECT_EQ(embedded.Header("Access-Control-Allow-Origin"), "http://gui.example:8090");
  EXPECT_EQ(embedded.Header("Access-Control-Expose-Headers"),
            "X-Request-Id, Content-Disposition, X-Stego-Member, Retry-After");
  EXPECT_EQ(embedded.Header("Vary"), "Origin");
  // The admin key stays required; the page may read why it was refused.
  auto refused = client.Post("/admin/fail", R"({"action":"pause"})", "application/json", gui);
  EXPECT_EQ(refused.status, 401);
  EXPECT_EQ(refused.Header("Access-Control-Allow-Origin"), "http://gui.example:8090");

  auto other = preflight("/api/embed", "http://evil.example", "");
  EXPECT_EQ(other.status, 403);
  EXPECT_EQ(other.Json()["code"], "origin_not_allowed");
  EXPECT_EQ(other.Json()["origin"], "http://evil.example");
  EXPECT_FALSE(client.Get("/healthz", {{"Origin", "http://evil.example"}}).Header("Access-Control-Allow-Origin"));

  const testsupport::HeaderList key = {{"Authorization", std::string("Bearer ") + kAdminKey}};
  ASSERT_EQ(client.Post("/admin/fail", R"({"action":"pause"})", "application/json", key).status, 200);
  EXPECT_EQ(preflight("/api/embed", "http://gui.example:8090", "").status, 204) << "a paused member still answers preflights";
  auto paused = client.Get("/healthz", gui);
  EXPECT_EQ(paused.status, 503);
  EXPECT_EQ(paused.Header("Access-Control-Allow-Origin"), "http://gui.example:8090");
  ASSERT_EQ(client.Post("/admin/restore", "", "application/json", key).status, 200);
}

TEST(WorkerProcess, NoOriginIsAllowedByDefaultAndABadOriginFlagStopsTheStart) {
  ProcessUnderTest worker(WorkerOptions());
  HttpClient client(worker.host(), worker.port());
  auto preflight = client.Request("OPTIONS", "/api/embed", "",
                                  {{"Origin", "http://gui.example:8090"}, {"Access-Control-Request-Method", "POST"}});
  EXPECT_EQ(preflight.status, 403);
  EXPECT_FALSE(client.Get("/healthz", {{"Origin", "http://gui.example:8090"}}).Header("Access-Control-Allow-Origin"));

  auto options = WorkerOptions({"--cors-origins", "gui.example"});
  options.wait_listening = false;
  ProcessUnderTest bad(options);
  EXPECT_EQ(bad.WaitExit(std::chrono::seconds(10)), 2);
  EXPECT_NE(bad.Output().find("--cors-origins"), std::string::npos) << bad.Output();
}

}  // namespace
}  // namespace apitest
