// ApiClient: stegoctl's one way to the cluster, over cpprestsdk's http_client. It follows the
// documented retry rule (docs/operator.md, "What a client does"): a request that gets no answer
// (connection refused, reset, timed out) or a 503 goes again, unchanged, to the next server of the
// list, at most max(5, servers) tries; a write carries an Idempotency-Key, the same on every try,
// so that the cluster applies it once. Any other answer is final.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace stegoctl {

// Bytes moved so far: (uploading, bytes) while the body goes up, (false, bytes) coming down.
using ProgressFn = std::function<void(bool uploading, std::uint64_t bytes)>;

struct Request {
  std::string method = "GET";
  std::string target{};  // path and query
  std::string body{};
  std::string content_type{};
  bool admin = false;  // prefer the admin key to the API key
  bool write = false;  // carries an Idempotency-Key
  ProgressFn progress{};
};

struct Response {
  int status = 0;      // 0: no server answered (see error)
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string server;  // the one that answered, or was tried last
  std::string error;   // why none answered
  int tries = 0;

  std::string Header(std::string_view name) const;  // case-insensitive; "" when absent
  nlohmann::json Json() const;                      // null when the body is not JSON
};

struct Credentials {
  std::string api_key;
  std::string admin_key;
};

class ApiClient {
 public:
  // `servers`: "host:port" or "http://host:port" (https too); at least one.
  ApiClient(std::vector<std::string> servers, Credentials credentials, std::chrono::milliseconds timeout);
  ~ApiClient();
  ApiClient(const ApiClient&) = delete;
  ApiClient& operator=(const ApiClient&) = delete;

  // Under the retry rule, starting at server `first` (modulo their number).
  Response Send(const Request& request, std::size_t first = 0) const;
  // To this server alone, once (an action aimed at one member); it need not be in the list.
  Response SendTo(const std::string& server, const Request& request) const;

  const std::vector<std::string>& servers() const { return servers_; }

 private:
  struct Connections;
  Response Exchange(std::size_t server, const Request& request, const std::string& idempotency_key) const;

  std::vector<std::string> servers_;  // normalised: scheme://host:port
  Credentials credentials_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<Connections> connections_;
};

// "host:port" -> "http://host:port"; a URL with a scheme is kept, a trailing slash dropped.
std::string NormaliseServer(std::string server);

}  // namespace stegoctl
