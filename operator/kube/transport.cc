#include "operator/kube/transport.h"

#include <cpprest/http_client.h>

#include <boost/asio/ssl/context.hpp>

#include <algorithm>

#include "operator/kube/watch_stream.h"

namespace kube {

using common::Unexpected;
namespace http = web::http;

namespace {

void ApplyTls(boost::asio::ssl::context& ctx, const Config& config) {
  if (!config.ca_pem.empty()) ctx.add_certificate_authority(boost::asio::buffer(config.ca_pem));
  if (!config.client_cert_pem.empty()) {
    ctx.use_certificate_chain(boost::asio::buffer(config.client_cert_pem));
    ctx.use_private_key(boost::asio::buffer(config.client_key_pem), boost::asio::ssl::context::pem);
  }
}

std::string Header(const http::http_response& response, const char* name) {
  const auto it = response.headers().find(name);
  return it == response.headers().end() ? std::string() : it->second;
}

}  // namespace

class TransportImpl {
 public:
  TransportImpl(const Config& config, std::chrono::milliseconds timeout)
      : config_(config), tokens_(config), client_(config.server, ClientConfig(timeout)) {}

  http::client::http_client_config ClientConfig(std::chrono::milliseconds timeout) const {
    http::client::http_client_config cc;
    cc.set_timeout(timeout);
    cc.set_validate_certificates(!config_.insecure_skip_tls_verify);
    const Config config = config_;
    cc.set_ssl_context_callback([config](boost::asio::ssl::context& ctx) { ApplyTls(ctx, config); });
    return cc;
  }

  common::Expected<http::http_request, std::string> Build(const HttpRequest& in) {
    http::http_request request(in.method);
    request.set_request_uri(in.path);
    request.headers().add("Accept", in.accept);
    request.headers().add("User-Agent", "stego-operator");
    if (!in.body.empty() || !in.content_type.empty()) request.set_body(in.body, in.content_type);
    auto token = tokens_.Token();
    if (!token) return Unexpected{token.error()};
    if (!token->empty()) request.headers().add("Authorization", "Bearer " + *token);
    return request;
  }

  const Config config_;
  TokenSource tokens_;
  http::client::http_client client_;
};

Transport::Transport(std::unique_ptr<TransportImpl> impl) : impl_(std::move(impl)) {}
Transport::~Transport() = default;

common::Expected<std::unique_ptr<Transport>, std::string> Transport::Create(const Config& config,
                                                                          std::chrono::milliseconds timeout) {
  // Apply the TLS material once now, so a bad PEM is an error here and not on every request.
  try {
    boost::asio::ssl::context probe(boost::asio::ssl::context::sslv23_client);
    ApplyTls(probe, config);
  } catch (const std::exception& e) {
    return Unexpected{std::string("TLS credentials are not usable: ") + e.what()};
  }
  try {
    return std::unique_ptr<Transport>(new Transport(std::make_unique<TransportImpl>(config, timeout)));
  } catch (const std::exception& e) {
    return Unexpected{"server URL \"" + config.server + "\" is not usable: " + e.what()};
  }
}

common::Expected<HttpResponse, std::string> Transport::Send(const HttpRequest& request) {
  auto built = impl_->Build(request);
  if (!built) return Unexpected{built.error()};
  try {
    http::http_response response = impl_->client_.request(*built).get();
    return HttpResponse{response.status_code(), response.extract_utf8string(true).get(),
                        Header(response, "Retry-After")};
  } catch (const std::exception& e) {
    return Unexpected{std::string(e.what())};
  }
}

common::Expected<HttpResponse, std::string> Transport::Stream(const HttpRequest& request,
                                                             std::chrono::milliseconds idle_timeout,
                                                             const std::function<void(std::string_view)>& on_line,
                                                             std::stop_token stop) {
  auto built = impl_->Build(request);
  if (!built) return Unexpected{built.error()};
  // Its own client: a stream holds its connection for minutes, and needs its own timeout.
  http::client::http_client client(impl_->config_.server, impl_->ClientConfig(idle_timeout));
  pplx::cancellation_token_source cancel;
  // Cancelling closes the connection, which also ends a read that is waiting for data.
  std::stop_callback on_stop(stop, [&cancel] { cancel.cancel(); });
  try {
    http::http_response response = client.request(*built, cancel.get_token()).get();
    if (response.status_code() < 200 || response.status_code() > 299) {
      return HttpResponse{response.status_code(), response.extract_utf8string(true).get(),
                          Header(response, "Retry-After")};
    }
    auto body = response.body().streambuf();
    WatchLineSplitter lines;
    std::vector<std::uint8_t> chunk(64 * 1024);
    using Traits = decltype(body)::traits;
    while (!stop.stop_requested()) {
      // getn(n) waits for n bytes (or the end), which would hold a watch event back until more
      // arrive: wait for one byte, then take only what is already there.
      const auto first = body.bumpc().get();
      if (first == Traits::eof()) break;  // the server ended the stream
      const char byte = static_cast<char>(first);
      lines.Feed(std::string_view(&byte, 1), on_line);
      if (const std::size_t available = body.in_avail(); available > 0) {
        const std::size_t n = body.getn(chunk.data(), std::min(available, chunk.size())).get();
        lines.Feed(std::string_view(reinterpret_cast<const char*>(chunk.data()), n), on_line);
      }
    }
    return HttpResponse{response.status_code(), {}, {}};
  } catch (const std::exception& e) {
    if (stop.stop_requested()) return HttpResponse{200, {}, {}};
    return Unexpected{std::string(e.what())};
  }
}

}  // namespace kube
