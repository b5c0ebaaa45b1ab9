#include "cli/api_client.h"

#include <algorithm>
#include <random>
#include <stdexcept>

#include "common/base64.h"

// cpprestsdk's U() macro breaks fmt's templates; this is its documented switch to leave it out.
#define _TURN_OFF_PLATFORM_STRING
#include <cpprest/http_client.h>

namespace stegoctl {
namespace {

namespace wh = web::http;

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](char x, char y) { return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y)); });
}

// 128 random bits: unique per write across clients and runs.
std::string NewIdempotencyKey() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  const std::uint64_t words[2] = {random(), random()};
  return "stegoctl-" + common::Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(words), sizeof words));
}

}  // namespace

std::string Response::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (EqualsIgnoringCase(key, name)) return value;
  }
  return "";
}

nlohmann::json Response::Json() const { return nlohmann::json::parse(body, nullptr, false); }

std::string NormaliseServer(std::string server) {
  while (!server.empty() && server.back() == '/') server.pop_back();
  if (server.find("://") == std::string::npos) server = "http://" + server;
  return server;
}

// One http_client per server, made once: each keeps its own pool of keep-alive connections, and
// may be used by many threads at once.
struct ApiClient::Connections {
  std::vector<std::unique_ptr<wh::client::http_client>> clients;
};

ApiClient::ApiClient(std::vector<std::string> servers, Credentials credentials, std::chrono::milliseconds timeout)
    : credentials_(std::move(credentials)), timeout_(timeout), connections_(std::make_unique<Connections>()) {
  if (servers.empty()) throw std::invalid_argument("no server to talk to");
  wh::client::http_client_config config;
  config.set_timeout(timeout);
  config.set_chunksize(1 << 20);
  for (std::string& s : servers) {
    servers_.push_back(NormaliseServer(std::move(s)));
    connections_->clients.push_back(std::make_unique<wh::client::http_client>(web::uri(servers_.back()), config));
  }
}

ApiClient::~ApiClient() = default;

Response ApiClient::Send(const Request& request, std::size_t first) const {
  const std::string key = request.write ? NewIdempotencyKey() : "";
  const int tries = static_cast<int>(std::max<std::size_t>(5, servers_.size()));
  Response answer;
  for (int attempt = 0; attempt < tries; ++attempt) {
    answer = Exchange((first + attempt) % servers_.size(), request, key);
    answer.tries = attempt + 1;
    if (answer.status != 0 && answer.status != 503) break;
  }
  return answer;
}

Response ApiClient::SendTo(const std::string& server, const Request& request) const {
  const std::string normalised = NormaliseServer(server);
  const auto known = std::find(servers_.begin(), servers_.end(), normalised);
  if (known != servers_.end()) return Exchange(known - servers_.begin(), request, request.write ? NewIdempotencyKey() : "");
  const ApiClient once({normalised}, credentials_, timeout_);
  Response answer = once.Exchange(0, request, request.write ? NewIdempotencyKey() : "");
  answer.tries = 1;
  return answer;
}

Response ApiClient::Exchange(std::size_t server, const Request& request, const std::string& idempotency_key) const {
  Response out;
  out.server = servers_[server];
  try {
    wh::http_request req(request.method);
    req.set_request_uri(request.target);
    // An admin call takes the admin key, else the API key (an admin-role key will do); any other
    // the API key, else the admin key (which may call everything).
    const std::string& preferred = request.admin ? credentials_.admin_key : credentials_.api_key;
    const std::string& token = preferred.empty() ? (request.admin ? credentials_.api_key : credentials_.admin_key) : preferred;
    if (!token.empty()) req.headers().add("Authorization", "Bearer " + token);
    if (!idempotency_key.empty()) req.headers().add("Idempotency-Key", idempotency_key);
    if (!request.body.empty() || request.method != "GET") {
      req.set_body(request.body, request.content_type.empty() ? "application/octet-stream" : request.content_type);
    }
    if (request.progress) {
      req.set_progress_handler([&progress = request.progress](wh::message_direction::direction d, utility::size64_t bytes) {
        progress(d == wh::message_direction::upload, bytes);
      });
    }
    wh::http_response resp = connections_->clients[server]->request(req).get();
    out.status = resp.status_code();
    for (const auto& [name, value] : resp.headers()) out.headers.emplace_back(name, value);
    const std::vector<unsigned char> bytes = resp.extract_vector().get();
    out.body.assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  } catch (const std::exception& e) {
    out.status = 0;
    out.error = e.what();
  }
  return out;
}

}  // namespace stegoctl
