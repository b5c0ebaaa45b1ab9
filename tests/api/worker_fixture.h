// What the API tests share: helpers to make images and payloads, and a fixture that runs one real
// stego-worker for a whole suite and checks after every test that it is still up and healthy.
#pragma once

#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/http_client.h"
#include "tests/support/process_under_test.h"
#include "tests/support/test_helpers.h"
#include "worker/stego/codec.h"
#include "worker/stego/synthetic.h"

namespace apitest {

using nlohmann::json;
using testsupport::HttpClient;
using testsupport::HttpResponse;
using testsupport::MultipartBuilder;
using testsupport::ProcessUnderTest;

inline constexpr char kAdminKey[] = "test-admin-key-5f2a";
inline const testsupport::HeaderList kJson = {{"Accept", "application/json"}};

inline std::string Encode(const stego::Image& image, stego::ImageFormat format = stego::ImageFormat::kPng) {
  auto bytes = stego::EncodeImage(image, format);
  EXPECT_TRUE(bytes) << bytes.error().message;
  return bytes ? std::string(bytes->begin(), bytes->end()) : std::string();
}

inline stego::Image Decode(const std::string& bytes) {
  auto image = stego::DecodeImage({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
  EXPECT_TRUE(image) << image.error().message;
  return image ? std::move(*image) : stego::Image{};
}

inline std::string RandomBytes(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& ch : s) ch = static_cast<char>(rng());
  return s;
}

using testsupport::FromBase64;

inline ProcessUnderTest::Options WorkerOptions(std::vector<std::string> extra_args = {}) {
  ProcessUnderTest::Options options;
  options.binary = STEGO_WORKER_BINARY;
  options.args = {"--http", "127.0.0.1:0", "--node-id", "api-test"};
  options.args.insert(options.args.end(), extra_args.begin(), extra_args.end());
  // Through the environment, as a container would set them; a flag in extra_args wins.
  options.env = {{"STEGO_ADMIN_KEY", kAdminKey}, {"STEGO_MAX_UPLOAD_BYTES", "8388608"}};
  return options;
}

// One worker shared by the tests that do not change its state.
class WorkerApi : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { worker_ = new ProcessUnderTest(WorkerOptions()); }
  static void TearDownTestSuite() {
    delete worker_;
    worker_ = nullptr;
  }
  void TearDown() override {
    // Whatever a test sent, the worker must still be up and healthy.
    ASSERT_TRUE(worker_->Running()) << worker_->Output();
    EXPECT_EQ(Client().Get("/healthz").status, 200);
  }

  // The suite's keep-alive connection (tests run one at a time; threads make their own clients).
  static HttpClient& Client() {
    static std::unique_ptr<HttpClient> client;
    if (!client || client_port_ != worker_->port()) {
      client = std::make_unique<HttpClient>(worker_->host(), worker_->port());
      client_port_ = worker_->port();
    }
    return *client;
  }

  static HttpResponse Embed(const MultipartBuilder& form, const testsupport::HeaderList& headers = {}) {
    return Client().PostMultipart("/api/v1/embed", form, headers);
  }
  static HttpResponse Extract(const std::string& image, const std::string& password = "",
                              const testsupport::HeaderList& headers = {}) {
    MultipartBuilder form;
    form.File("file", "stego.png", "image/png", image);
    if (!password.empty()) form.Field("password", password);
    return Client().PostMultipart("/api/v1/extract", form, headers);
  }

  static void ExpectError(const HttpResponse& response, int status, const std::string& code) {
    EXPECT_EQ(response.status, status) << response.body;
    ASSERT_EQ(response.Header("Content-Type").value_or(""), "application/json") << response.body;
    const json body = response.Json();
    EXPECT_EQ(body.value("code", ""), code) << response.body;
    EXPECT_TRUE(body["error"].is_string() && !body["error"].get<std::string>().empty());
    EXPECT_TRUE(body["detail"].is_string());
    EXPECT_EQ(body.value("request_id", ""), response.Header("X-Request-Id").value_or("missing"));
  }

  static inline ProcessUnderTest* worker_ = nullptr;
  static inline uint16_t client_port_ = 0;
};

}  // namespace apitest
