// Transport: HTTP(S) exchanges with one API server, on cpprestsdk's http_client (kept out of this
// header: every translation unit that includes cpprest costs ~13 s to compile). It applies the
// Config's TLS settings (CA bundle, client certificate, insecure mode, server name) and bearer
// token, and bounds every exchange by a timeout. It knows no Kubernetes semantics: the Client
// builds paths and reads statuses. Thread-safe; one Transport serves many concurrent calls.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>

#include "common/expected.h"
#include "operator/kube/config.h"

namespace kube {

struct HttpRequest {
  std::string method = "GET";
  std::string path{};  // path and query, already encoded
  std::string body{};
  std::string content_type{};  // of the body
  std::string accept = "application/json";
};

struct HttpResponse {
  int status = 0;
  std::string body{};         // whole body; empty for a 2xx stream
  std::string retry_after;  // the Retry-After header, when present
};

class TransportImpl;  // holds the cpprest clients; defined in transport.cc

class Transport {
 public:
  // Errors: an unusable server URL or TLS material (bad PEM).
  static common::Expected<std::unique_ptr<Transport>, std::string> Create(const Config& config,
                                                                        std::chrono::milliseconds timeout);
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // One request, the whole answer read. Error: no HTTP answer (connect/TLS failure, timeout, token
  // file unreadable), with what happened.
  common::Expected<HttpResponse, std::string> Send(const HttpRequest& request);

  // A streamed answer (a watch): each complete line of a 2xx body goes to `on_line` as it arrives;
  // returns the (empty-bodied) 2xx response when the server ends the stream or `stop` is requested.
  // A non-2xx answer is read whole and returned like Send's. Error: the connection broke, or no
  // byte arrived for `idle_timeout`.
  common::Expected<HttpResponse, std::string> Stream(const HttpRequest& request, std::chrono::milliseconds idle_timeout,
                                                     const std::function<void(std::string_view line)>& on_line,
                                                     std::stop_token stop);

 private:
  explicit Transport(std::unique_ptr<TransportImpl> impl);
  std::unique_ptr<TransportImpl> impl_;
};

}  // namespace kube
