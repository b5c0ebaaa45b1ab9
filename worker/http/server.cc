#include "worker/http/server.h"

#include <algorithm>
#include <limits>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/core/detect_ssl.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <spdlog/spdlog.h>

#include "common/ip_network.h"
#include "common/metrics.h"
#include "worker/http/auth.h"
#include "worker/http/compute_pool.h"
#include "worker/http/tls.h"

namespace http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kNoRoute = "none";
constexpr std::string_view kPreflightRoute = "cors_preflight";  // the metrics label of preflights
constexpr auto kRefusalPause = std::chrono::milliseconds(250);  // before a client-limit 429
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
// After an error answer the client may still be sending a body we will not read; closing with
// unread bytes makes the kernel send RST, which can destroy our answer in flight. So we half-close
// and discard input for a while first (what nginx calls lingering close).
constexpr auto kLingerTime = std::chrono::milliseconds(1000);
constexpr std::size_t kLingerMaxBytes = 4u << 20;
// Compute jobs allowed to wait when the options name no count: memory is the real bound
// (memory_budget); the count only caps bookkeeping.
constexpr std::size_t kDefaultQueueCapacity = 256;

bool IsSaneRequestId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '_' ||
           c == '.' || c == ':';
  });
}

std::string NewRequestId() {
  thread_local std::mt19937_64 rng = [] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd()};
    return std::mt19937_64(seq);
  }();
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(16, '0');
  std::uint64_t v = rng();
  for (char& c : id) {
    c = kHex[v & 0xf];
    v >>= 4;
  }
  return id;
}

// Header text a handler may not smuggle CR, LF or NUL into (response splitting).
bool IsSafeFieldText(std::string_view s) { return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos; }

// An address or CIDR block (common::ParseIpNetwork), as the network's first address and its
// prefix length.
std::optional<std::pair<net::ip::address, unsigned>> ParseNetwork(std::string_view text) {
  const auto network = common::ParseIpNetwork(text);
  if (!network) return std::nullopt;
  return std::pair{net::ip::make_address(network->address), network->prefix};
}

struct ServerMetrics {
  explicit ServerMetrics(common::Metrics& m)
      : requests(m.CounterFamily("http_requests_total", "HTTP requests answered, by route and status.",
                                 {"route", "status"})),
        latency(m.HistogramFamily("http_request_duration_seconds",
                                  "Time from the first byte of a request to the end of its answer.", {"route"},
                                  common::Histogram::LatencyBuckets())),
        request_bytes(m.CounterFamily("http_request_body_bytes_total", "Request body bytes received.", {"route"})),
        response_bytes(m.CounterFamily("http_response_body_bytes_total", "Response body bytes sent.", {"route"})),
        in_flight(m.GetGauge("http_requests_in_flight", "Requests being read, handled or answered.")),
        connections(m.GetGauge("http_connections_open", "Open client connections.")),
        queue_depth(m.GetGauge("http_compute_queue_depth", "Compute jobs waiting for a thread.")),
        compute_active(m.GetGauge("http_compute_active", "Compute jobs running.")),
        memory_budget(m.GetGauge("http_compute_memory_budget_bytes",
                                 "Memory that admitted compute jobs may hold in all (0: no budget).")),
        memory_in_use(m.GetGauge("http_compute_memory_in_use_bytes",
                                 "Memory charged to admitted compute jobs: body plus working-set estimate.")),
        rejected(m.CounterFamily("http_rejected_total", "Requests or connections refused for lack of capacity.",
                                 {"reason"})),
        tls_handshake_failures(m.GetCounter("http_tls_handshake_failures_total",
                                            "TLS handshakes that failed (an untrusted or missing client certificate, "
                                            "a client that does not trust ours).")) {}

  common::Family<common::Counter>& requests;
  common::Family<common::Histogram>& latency;
  common::Family<common::Counter>& request_bytes;
  common::Family<common::Counter>& response_bytes;
  common::Gauge& in_flight;
  common::Gauge& connections;
  common::Gauge& queue_depth;
  common::Gauge& compute_active;
  common::Gauge& memory_budget;
  common::Gauge& memory_in_use;
  common::Family<common::Counter>& rejected;
  common::Counter& tls_handshake_failures;
};

class Session;

// A connection's byte stream: plain TCP, or TLS over it once StartTls() has been called. Beast's
// algorithms take it as they take either; timeouts and shutdown act on the TCP layer beneath.
class SessionStream {
 public:
  using executor_type = beast::tcp_stream::executor_type;

  explicit SessionStream(tcp::socket socket) : plain_(std::in_place, std::move(socket)) {}

  // The context is shared with the ServerTls, which may replace it for later connections.
  void StartTls(std::shared_ptr<net::ssl::context> context) {
    context_ = std::move(context);
    tls_.emplace(std::move(*plain_), *context_);
    plain_.reset();
  }

  beast::ssl_stream<beast::tcp_stream>& tls() { return *tls_; }
  beast::tcp_stream& transport() { return tls_ ? tls_->next_layer() : *plain_; }
  executor_type get_executor() { return transport().get_executor(); }

  template <class MutableBuffers, class Handler>
  void async_read_some(const MutableBuffers& buffers, Handler&& handler) {
    if (tls_) return tls_->async_read_some(buffers, std::forward<Handler>(handler));
    plain_->async_read_some(buffers, std::forward<Handler>(handler));
  }

  template <class ConstBuffers, class Handler>
  void async_write_some(const ConstBuffers& buffers, Handler&& handler) {
    if (tls_) return tls_->async_write_some(buffers, std::forward<Handler>(handler));
    plain_->async_write_some(buffers, std::forward<Handler>(handler));
  }

 private:
  std::shared_ptr<net::ssl::context> context_;  // outlives tls_ (declared first)
  std::optional<beast::tcp_stream> plain_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_;
};

}  // namespace

class ServerImpl {
 public:
  ServerImpl(ServerOptions options, Router& router, common::Metrics& metrics);
  ~ServerImpl();

  common::Expected<std::uint16_t, std::string> Start();
  void Stop();
  void Join();
  ServerStats Stats() const;

  // Session registry (for Stop) and the connection limit.
  enum class Admission { kAdmitted, kFull, kStopping };
  Admission Register(Session* s, std::weak_ptr<Session> w);
  void Unregister(Session* s);

  // Whether `address` is one of options_.trusted_proxies.
  bool Trusted(const net::ip::address& address) const;

  const ServerOptions options_;
  Router& router_;
  ServerMetrics metrics_;
  std::unique_ptr<ClientLimits> client_limits_;  // null: no client limits
  std::vector<std::pair<net::ip::address, unsigned>> trusted_proxies_;  // network, prefix length
  std::atomic<std::size_t> in_flight_{0};
  std::atomic<bool> stopping_{false};

  // Declared before the io_context: sessions destroyed while it is torn down unregister here.
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions_;  // guarded by mu_
  bool stop_requested_ = false;                                     // guarded by mu_
  bool started_ = false;
  bool joined_ = false;

  net::io_context ioc_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
  // Declared after the io_context: its jobs post into it, so it must be joined first.
  std::unique_ptr<ComputePool> pool_;
  std::unique_ptr<ComputePool> relay_pool_;  // null unless relay_threads > 0
  tcp::acceptor acceptor_;
  net::steady_timer accept_retry_;
  std::vector<std::thread> threads_;

 private:
  void Accept();
  void OnAccept(beast::error_code ec, tcp::socket socket);
};

namespace {

// One client connection: reads requests one at a time, runs them, writes the answers. Lives as
// long as an asynchronous operation or a compute job holds it; all its members are touched only on
// its strand.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(ServerImpl& server, tcp::socket socket) : server_(server), stream_(std::move(socket)) {
    beast::error_code ec;
    const tcp::endpoint peer = stream_.transport().socket().remote_endpoint(ec);
    if (!ec) {
      peer_ip_ = peer.address();
      remote_address_ = peer_ip_.to_string();
      remote_port_ = peer.port();
    }
    server_.metrics_.connections.Inc();
  }

  ~Session() {
    EndInFlight();
    server_.metrics_.connections.Dec();
    server_.Unregister(this);
  }

  void Run() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      if (self->server_.options_.tls) return self->DetectTls();
      self->WaitForRequest();
    });
  }

  // Over a connection limit: answer and close, without reading anything.
  void Reject(int status, std::string_view code, std::string_view error, std::string detail,
              std::chrono::seconds retry_after) {
    net::dispatch(stream_.get_executor(), [self = shared_from_this(), status, code, error, detail = std::move(detail),
                                           retry_after] {
      self->start_ = Clock::now();
      self->request_id_ = NewRequestId();
      Response r = Response::Error(status, code, error, detail, self->request_id_);
      r.headers.Set("Retry-After", std::to_string(retry_after.count()));
      self->Respond(std::move(r), /*close=*/true);
    });
  }

  // Counts this connection against its address's share (ClientLimitOptions::connections) until it
  // closes; false if the address already holds its share.
  bool AdmitConnection(ClientLimits& limits, ClientLimits::Refusal& refusal) {
    auto ticket = limits.AdmitConnection(remote_address_, Clock::now(), refusal);
    if (!ticket) return false;
    connection_ticket_ = std::move(*ticket);
    return true;
  }

  const net::ip::address& peer_ip() const { return peer_ip_; }

  net::any_io_executor executor() { return stream_.get_executor(); }

  // Posted to the strand by Server::Stop(): idle connections close now, busy ones after answering.
  void OnServerStop() {
    stopping_ = true;
    if (state_ == State::kIdle) stream_.transport().cancel();
  }

 private:
  enum class State { kIdle, kReading, kHandling, kWriting, kClosing };

  // --- TLS -----------------------------------------------------------------------------------

  // On an HTTPS port: a client that speaks plain HTTP gets a plain 400 saying so (what curl shows
  // for http:// to this port) rather than a TLS alert it cannot read.
  void DetectTls() {
    stream_.transport().expires_after(server_.options_.header_timeout);
    beast::async_detect_ssl(stream_.transport(), buffer_,
                            [self = shared_from_this()](beast::error_code ec, bool tls) { self->OnDetect(ec, tls); });
  }

  void OnDetect(beast::error_code ec, bool tls) {
    if (ec) return Close(/*linger=*/false);
    if (!tls) {
      BeginInFlight();
      start_ = Clock::now();
      request_id_ = NewRequestId();
      return RespondError(400, "https_required", "this port speaks HTTPS",
                          "a plain HTTP request was sent to a TLS port; use https://", /*close=*/true);
    }
    // Without it the first answer waits ~40 ms: TLS 1.3 sends its session tickets as a small
    // segment right after the handshake, and Nagle holds the answer until the client's delayed
    // ACK of it.
    beast::error_code ignored;
    stream_.transport().socket().set_option(tcp::no_delay(true), ignored);
    stream_.StartTls(server_.options_.tls->Current());
    stream_.tls().async_handshake(net::ssl::stream_base::server, buffer_.data(),
                                  [self = shared_from_this()](beast::error_code hs_ec, std::size_t used) {
                                    self->OnHandshake(hs_ec, used);
                                  });
  }

  void OnHandshake(beast::error_code ec, std::size_t used) {
    if (ec) {
      // A client that does not trust us, or (mutual TLS) one without a certificate we trust.
      server_.metrics_.tls_handshake_failures.Inc();
      spdlog::info("tls handshake with {}:{} failed: {}", remote_address_, remote_port_, ec.message());
      return Close(/*linger=*/false);
    }
    buffer_.consume(used);
    WaitForRequest();
  }

  // --- reading -------------------------------------------------------------------------------

  void WaitForRequest() {
    if (stopping_) return Close(/*linger=*/false);
    state_ = State::kIdle;
    if (buffer_.size() > 0) return ReadHeader();  // a pipelined request is already here
    // Wait for the first byte under the idle timeout; the head then gets its own deadline.
    stream_.transport().expires_after(server_.options_.idle_timeout);
    stream_.async_read_some(buffer_.prepare(8192),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->OnIdleRead(ec, n);
                            });
  }

  void OnIdleRead(beast::error_code ec, std::size_t n) {
    if (ec) return Close(/*linger=*/false);  // peer closed, idle timeout, or server stopping
    buffer_.commit(n);
    ReadHeader();
  }

  void ReadHeader() {
    state_ = State::kReading;
    start_ = Clock::now();
    request_ = Request{};
    request_.remote_address = remote_address_;
    request_.remote_port = remote_port_;
    route_ = nullptr;
    route_name_ = kNoRoute;
    method_.clear();
    log_path_.clear();
    request_id_.clear();
    origin_.clear();
    version_ = 11;
    quiet_ = false;
    keep_alive_ = false;
    head_ = false;
    parser_.emplace();
    parser_->header_limit(server_.options_.max_header_bytes);
    // No limit while reading the head: the route's limit is known only afterwards. (Not boost::none:
    // Boost 1.74 compares a Content-Length against an empty optional as if it were over the limit.)
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    stream_.transport().expires_after(server_.options_.header_timeout);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = shared_from_this()](beast::error_code ec, std::size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    BeginInFlight();
    if (ec) {
      if (ec == bhttp::error::header_limit) {
        request_id_ = NewRequestId();
        return RespondError(431, "headers_too_large", "request header fields too large",
                            "the request line and headers exceed " +
                                std::to_string(server_.options_.max_header_bytes) + " bytes",
                            /*close=*/true);
      }
      if (IsDisconnect(ec)) {
        spdlog::debug("http connection from {}:{} ended while reading a request head: {}", remote_address_,
                      remote_port_, ec.message());
        return Close(/*linger=*/false);
      }
      request_id_ = NewRequestId();
      return RespondError(400, "bad_request", "malformed HTTP request", ec.message(), /*close=*/true);
    }

    const auto& msg = parser_->get();
    request_.method = std::string(msg.method_string());
    request_.target = std::string(msg.target());
    request_.version = msg.version() == 10 ? 10 : 11;
    for (const auto& field : msg) request_.headers.Add(std::string(field.name_string()), std::string(field.value()));
    const auto incoming_id = request_.headers.Get("X-Request-Id");
    request_.request_id = incoming_id && IsSaneRequestId(*incoming_id) ? std::string(*incoming_id) : NewRequestId();
    // Kept apart from request_, which a compute job takes away.
    request_id_ = request_.request_id;
    method_ = request_.method;
    version_ = request_.version;
    keep_alive_ = msg.keep_alive();
    head_ = request_.method == "HEAD";
    const bool body_pending = !parser_->is_done();

    // Origin-form "/path?query"; absolute-form "http://host/path" is reduced to it (RFC 9112 §3.2.2).
    std::string_view target(msg.target().data(), msg.target().size());
    if (target.starts_with("http://") || target.starts_with("https://")) {
      const std::size_t authority = target.find("//") + 2;
      const std::size_t slash = target.find('/', authority);
      target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
    }
    const std::size_t qmark = target.find('?');
    const std::string_view raw_path = target.substr(0, qmark);
    log_path_ = std::string(raw_path.substr(0, 512));
    auto path = PercentDecode(raw_path, /*plus_as_space=*/false);
    auto query = ParseQuery(qmark == std::string_view::npos ? std::string_view() : target.substr(qmark + 1));
    if (raw_path.empty() || raw_path.front() != '/' || !path || !query) {
      return RespondError(400, "bad_request", "invalid request target",
                          "the request target must be an absolute path with valid percent-encoding", body_pending);
    }
    request_.path = std::move(*path);
    request_.query = std::move(*query);

    Router::Match match = server_.router_.Find(request_.method, request_.path);
    origin_ = std::string(request_.Header("Origin").value_or(""));
    // A preflight of a path we serve (no route takes OPTIONS itself): answered before any route
    // guard, since a browser sends it without credentials, and a paused member must still say
    // what its routes accept.
    const CorsPolicy* cors = server_.options_.cors.get();
    if (cors && match.outcome == Router::Outcome::kMethodNotAllowed && CorsPolicy::IsPreflight(request_)) {
      route_name_ = kPreflightRoute;
      quiet_ = true;
      return Respond(cors->Preflight(request_, match.allow), body_pending);
    }
    if (match.outcome == Router::Outcome::kNotFound) {
      return RespondError(404, "not_found", "no such resource", "no route matches " + request_.method + " " + log_path_,
                          body_pending);
    }
    if (match.outcome == Router::Outcome::kMethodNotAllowed) {
      Response r = Response::Error(405, "method_not_allowed", "method not allowed",
                                   request_.method + " is not allowed here; allowed: " + match.allow, request_id_);
      r.headers.Set("Allow", match.allow);
      return Respond(std::move(r), body_pending);
    }
    route_ = match.route;
    route_name_ = route_->info.options.name;
    quiet_ = route_->info.options.quiet;
    request_.route = route_->info.options.name;
    request_.path_params = std::move(match.params);
    if (auto refused = AdmitClient()) return RespondLater(std::move(*refused), body_pending);

    const std::uint64_t limit = route_->info.options.max_body_bytes > 0 ? route_->info.options.max_body_bytes
                                                                        : server_.options_.max_body_bytes;
    if (const auto length = parser_->content_length(); length && *length > limit) {
      return RespondError(413, "payload_too_large", "request body too large",
                          "Content-Length " + std::to_string(*length) + " exceeds the limit of " + std::to_string(limit) +
                              " bytes",
                          body_pending);
    }
    if (const auto expect = request_.headers.Get("Expect"); expect && !EqualsIgnoreCase(*expect, "100-continue")) {
      return RespondError(417, "expectation_failed", "expectation failed", "only Expect: 100-continue is supported",
                          body_pending);
    }
    // Refusing before the body is read spares the upload. Its charge is taken now and held while
    // the body is read (a flood of uploads must not hold more than the budget in half-read
    // bodies), then handed to the job at submission, where the queue is checked again. (A relayed
    // request may not need a compute thread, so only its memory is checked now.)
    if (route_->info.options.compute) {
      const std::uint64_t charge = Charge(parser_->content_length().value_or(body_pending ? limit : 0));
      if (!route_->info.options.relay) {
        if (const auto a = server_.pool_->Check(charge); a != ComputePool::Admission::kAdmitted) {
          return RespondOverloaded(*server_.pool_, a, charge, body_pending);
        }
      }
      auto held = MemoryCharge::Take(server_.options_.memory_budget, charge);
      if (!held) {
        const auto why = charge > server_.options_.memory_budget->limit() ? ComputePool::Admission::kTooLarge
                                                                          : ComputePool::Admission::kOverBudget;
        return RespondOverloaded(*server_.pool_, why, charge, body_pending);
      }
      body_charge_ = std::move(*held);
    }

    if (!body_pending) return Dispatch();
    parser_->body_limit(limit);
    body_limit_ = limit;
    if (request_.version == 11 && request_.headers.Get("Expect")) {
      // Only now, with the request accepted, is the client invited to send the body.
      stream_.transport().expires_after(server_.options_.write_timeout);
      net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                       [self = shared_from_this()](beast::error_code ec, std::size_t) {
                         if (ec) return self->Close(/*linger=*/false);
                         self->ReadBody();
                       });
      return;
    }
    ReadBody();
  }

  // Counts the request against its client's limits until it is answered; the 429 when it is over
  // one. Probes and metrics (quiet routes) are not counted.
  std::optional<Response> AdmitClient() {
    ClientLimits* limits = server_.client_limits_.get();
    if (!limits || quiet_) return std::nullopt;
    ClientLimits::Refusal refusal;
    auto ticket = limits->AdmitRequest(ClientLimits::ClientsOf(ClientAddress(), BearerToken(request_)), Clock::now(),
                                       refusal);
    if (ticket) {
      request_ticket_ = std::move(*ticket);
      return std::nullopt;
    }
    server_.metrics_.rejected.WithLabels({"client_" + refusal.limit}).Inc();
    Response r = Response::Error(429, "too_many_requests", "too many requests from one client", refusal.detail,
                                 request_id_);
    r.headers.Set("Retry-After", std::to_string(refusal.retry_after.count()));
    return r;
  }

  // A refusal sent after a pause: a client that ignores Retry-After and asks again at once would
  // otherwise make the server spend its cores on refusals (measured: docs/security.md); paused,
  // each of its connections asks at most four times a second, and the connection limit bounds
  // how many it has.
  void RespondLater(Response r, bool close) {
    state_ = State::kHandling;
    auto timer = std::make_shared<net::steady_timer>(stream_.get_executor(), kRefusalPause);
    timer->async_wait([self = shared_from_this(), timer, r = std::move(r), close](beast::error_code) mutable {
      self->Respond(std::move(r), close);
    });
  }

  // The client a request comes from: the peer, or through a trusted proxy the last address of
  // X-Forwarded-For (the one the proxy itself appended; earlier ones are the client's to forge).
  std::string ClientAddress() const {
    if (!server_.Trusted(peer_ip_)) return remote_address_;
    const auto forwarded = request_.headers.Get("X-Forwarded-For");
    if (!forwarded) return remote_address_;
    std::string_view last(*forwarded);
    if (const auto comma = last.rfind(','); comma != std::string_view::npos) last.remove_prefix(comma + 1);
    last = TrimWhitespace(last);
    return last.empty() ? remote_address_ : std::string(last.substr(0, 64));
  }

  void ReadBody() {
    stream_.transport().expires_after(server_.options_.body_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) { self->OnBody(ec); });
  }

  void OnBody(beast::error_code ec) {
    if (ec == bhttp::error::body_limit) {
      return RespondError(413, "payload_too_large", "request body too large",
                          "the body exceeds the limit of " + std::to_string(body_limit_) + " bytes", /*close=*/true);
    }
    if (ec && IsDisconnect(ec)) {
      spdlog::debug("http request {} {} request_id={} abandoned while reading its body: {}", method_, log_path_,
                    request_id_, ec.message());
      return Close(/*linger=*/false);
    }
    if (ec) return RespondError(400, "bad_request", "malformed HTTP request body", ec.message(), /*close=*/true);
    Dispatch();
  }

  static bool IsDisconnect(beast::error_code ec) {
    return ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message || ec == net::error::eof ||
           ec == beast::error::timeout || ec == net::error::operation_aborted || ec == net::error::connection_reset ||
           ec == net::error::broken_pipe || ec == net::error::not_connected || ec == net::error::bad_descriptor;
  }

  // --- handling ------------------------------------------------------------------------------

  void Dispatch() {
    state_ = State::kHandling;
    request_.body = std::move(parser_->get().body());
    bytes_in_ = request_.body.size();
    if (!route_->info.options.compute) return Respond(Invoke(route_->info.options.name, route_->handler, request_), false);

    ComputePool* pool = server_.pool_.get();
    Handler handler = route_->handler;
    if (route_->info.options.relay && server_.relay_pool_) {
      if (Handler relay = route_->info.options.relay(request_)) {
        pool = server_.relay_pool_.get();
        handler = std::move(relay);
      }
    }
    // The job owns the request; the session stays alive through the captured pointer.
    auto job = [self = shared_from_this(), name = route_->info.options.name, handler = std::move(handler),
                request = std::move(request_)]() mutable {
      Response response = Invoke(name, handler, request);
      net::post(self->stream_.get_executor(), [self, response = std::move(response)]() mutable {
        self->Respond(std::move(response), /*close=*/false);
      });
    };
    const std::uint64_t charge = Charge(bytes_in_);
    if (const auto a = pool->TrySubmit(std::move(job), charge, std::move(body_charge_));
        a != ComputePool::Admission::kAdmitted) {
      RespondOverloaded(*pool, a, charge, /*close=*/false);
    }
  }

  // What a compute job of this route is charged against the memory budget: its body, which it
  // holds until it has run, and what its route says it may use beyond that.
  std::uint64_t Charge(std::uint64_t body_bytes) const {
    const std::uint64_t working_set = route_->info.options.working_set_bytes > 0
                                          ? route_->info.options.working_set_bytes
                                          : server_.options_.default_working_set_bytes;
    return body_bytes + working_set;
  }

  static Response Invoke(const std::string& name, const Handler& handler, Request& request) {
    try {
      return handler(request);
    } catch (const std::exception& e) {
      spdlog::error("http handler {} threw: {} (request_id={})", name, e.what(), request.request_id);
    } catch (...) {
      spdlog::error("http handler {} threw a non-exception (request_id={})", name, request.request_id);
    }
    return Response::Error(request, 500, "internal_error", "internal server error",
                           "the handler failed unexpectedly; the server log has details");
  }

  void RespondOverloaded(const ComputePool& pool, ComputePool::Admission why, std::uint64_t charge, bool close) {
    server_.metrics_.rejected.WithLabels({"overloaded"}).Inc();
    Response r =
        Response::Error(503, "overloaded", "server overloaded", OverloadDetail(pool, why, charge), request_id_);
    // Retrying cannot help a job that is larger than the whole budget.
    if (why != ComputePool::Admission::kTooLarge) {
      r.headers.Set("Retry-After", std::to_string(server_.options_.retry_after.count()));
    }
    Respond(std::move(r), close);
  }

  static std::string OverloadDetail(const ComputePool& pool, ComputePool::Admission why, std::uint64_t charge) {
    const MemoryBudget* budget = pool.budget();
    const std::string needs = "this request needs an estimated " + std::to_string(charge) + " bytes of memory";
    switch (why) {
      case ComputePool::Admission::kTooLarge:
        return needs + ", more than the server's whole compute memory budget of " + std::to_string(budget->limit()) +
               " bytes (--queue-memory-bytes); it cannot be served here";
      case ComputePool::Admission::kOverBudget:
        return needs + " and the jobs already admitted hold " + std::to_string(budget->in_use()) + " of the " +
               std::to_string(budget->limit()) + " bytes of the compute memory budget; retry later";
      case ComputePool::Admission::kStopping:
        return "the server is stopping";
      default:
        return "the compute queue is full (" + std::to_string(pool.capacity()) + " waiting); retry later";
    }
  }

  void RespondError(int status, std::string_view code, std::string_view error, const std::string& detail, bool close) {
    Respond(Response::Error(status, code, error, detail, request_id_), close);
  }

  // --- writing -------------------------------------------------------------------------------

  // `close`: the connection cannot be reused (unread body, broken framing).
  void Respond(Response r, bool close) {
    state_ = State::kWriting;
    close_after_write_ = close || !keep_alive_ || stopping_ || server_.stopping_.load();
    if (r.status < 200 || r.status > 999) {
      spdlog::error("http handler {} returned invalid status {} (request_id={})", route_name_, r.status, request_id_);
      r = Response::Error(500, "internal_error", "internal server error", "the handler returned an invalid status",
                          request_id_);
    }
    status_ = r.status;
    if (server_.options_.cors) server_.options_.cors->Decorate(origin_, r);

    auto res = std::make_shared<bhttp::response<bhttp::string_body>>();
    res->result(static_cast<unsigned>(r.status));
    res->version(version_);
    if (!r.content_type.empty() && IsSafeFieldText(r.content_type)) res->set(bhttp::field::content_type, r.content_type);
    for (const auto& [name, value] : r.headers.fields()) {
      if (EqualsIgnoreCase(name, "Content-Length") || EqualsIgnoreCase(name, "Transfer-Encoding") ||
          EqualsIgnoreCase(name, "Connection") || EqualsIgnoreCase(name, "X-Request-Id")) {
        continue;  // framing and the request id are the server's
      }
      if (name.empty() || !IsSafeFieldText(name) || !IsSafeFieldText(value)) {
        spdlog::warn("http handler {} set a header with an empty name or CR/LF/NUL in it; dropped", route_name_);
        continue;
      }
      res->insert(name, value);
    }
    res->set("X-Request-Id", request_id_);
    res->keep_alive(!close_after_write_);
    const bool no_body = r.status == 204 || r.status == 304;
    if (no_body) r.body.clear();
    bytes_out_ = head_ ? 0 : r.body.size();
    if (head_ && !no_body) {
      // HEAD: the GET answer's headers, Content-Length included, without its body.
      res->content_length(r.body.size());
    } else {
      res->body() = std::move(r.body);
      res->prepare_payload();
    }
    stream_.transport().expires_after(server_.options_.write_timeout);
    bhttp::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
      self->OnWrite(ec);
    });
  }

  void OnWrite(beast::error_code ec) {
    Record(ec);
    EndInFlight();
    if (ec) return Close(/*linger=*/false);
    if (close_after_write_) return Close(/*linger=*/true);
    WaitForRequest();
  }

  void Record(beast::error_code write_error) {
    const double seconds = std::chrono::duration<double>(Clock::now() - start_).count();
    auto& m = server_.metrics_;
    const std::string status = std::to_string(status_);
    m.requests.WithLabels({route_name_, status}).Inc();
    m.latency.WithLabels({route_name_}).Observe(seconds);
    m.request_bytes.WithLabels({route_name_}).Inc(static_cast<double>(bytes_in_));
    if (!write_error) m.response_bytes.WithLabels({route_name_}).Inc(static_cast<double>(bytes_out_));
    // A client over its limits may send thousands of requests a second: its refusals are counted
    // (http_rejected_total) but logged at debug, or the log would be the attack's amplifier.
    const auto level = (quiet_ && status_ < 400) || status_ == 429 ? spdlog::level::debug : spdlog::level::info;
    spdlog::log(level, "http {} {} {} {:.2f}ms in={} out={} request_id={} peer={}:{}{}{}",
                method_.empty() ? "-" : method_, log_path_.empty() ? "-" : log_path_,
                status_, seconds * 1000.0, bytes_in_, bytes_out_, request_id_, remote_address_, remote_port_,
                write_error ? " write_error=" : "", write_error ? write_error.message() : "");
  }

  void BeginInFlight() {
    if (in_flight_) return;
    in_flight_ = true;
    server_.in_flight_.fetch_add(1, std::memory_order_relaxed);
    server_.metrics_.in_flight.Inc();
  }

  void EndInFlight() {
    request_ticket_.reset();
    body_charge_ = {};
    if (!in_flight_) return;
    in_flight_ = false;
    bytes_in_ = bytes_out_ = 0;
    server_.in_flight_.fetch_sub(1, std::memory_order_relaxed);
    server_.metrics_.in_flight.Dec();
  }

  // --- closing -------------------------------------------------------------------------------

  void Close(bool linger) {
    EndInFlight();
    state_ = State::kClosing;
    beast::error_code ec;
    stream_.transport().socket().shutdown(tcp::socket::shutdown_send, ec);
    if (!linger || ec) {
      stream_.transport().socket().close(ec);
      return;
    }
    linger_buffer_.resize(16 * 1024);
    linger_deadline_ = Clock::now() + kLingerTime;
    Drain();
  }

  void Drain() {
    const auto left = linger_deadline_ - Clock::now();
    if (left <= Clock::duration::zero() || lingered_bytes_ > kLingerMaxBytes) {
      beast::error_code ec;
      stream_.transport().socket().close(ec);
      return;
    }
    stream_.transport().expires_after(std::chrono::duration_cast<std::chrono::milliseconds>(left) + std::chrono::milliseconds(1));
    // Raw bytes from TCP, TLS or not: they are thrown away undecrypted.
    stream_.transport().async_read_some(net::buffer(linger_buffer_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->lingered_bytes_ += n;
                              if (ec) {
                                beast::error_code ignored;
                                self->stream_.transport().socket().close(ignored);
                                return;
                              }
                              self->Drain();
                            });
  }

  ServerImpl& server_;
  SessionStream stream_;
  beast::flat_buffer buffer_;
  net::ip::address peer_ip_;
  std::string remote_address_;
  std::optional<ClientLimits::Ticket> connection_ticket_;  // while the connection is open
  std::optional<ClientLimits::Ticket> request_ticket_;     // while a request is being served
  MemoryCharge body_charge_;  // a compute request's charge, from its head until its job is queued
  std::uint16_t remote_port_ = 0;
  State state_ = State::kIdle;
  bool stopping_ = false;

  // The request being served.
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  Request request_;
  const Router::Route* route_ = nullptr;
  std::string route_name_{kNoRoute};
  std::string method_;
  std::string log_path_;
  std::string request_id_;
  std::string origin_;  // the request's Origin header, for the CORS fields of its answer
  int version_ = 11;
  bool quiet_ = false;
  bool keep_alive_ = false;
  bool head_ = false;
  bool close_after_write_ = false;
  bool in_flight_ = false;
  std::uint64_t body_limit_ = 0;
  std::size_t bytes_in_ = 0;
  std::size_t bytes_out_ = 0;
  int status_ = 0;
  Clock::time_point start_;

  std::vector<char> linger_buffer_;
  Clock::time_point linger_deadline_;
  std::size_t lingered_bytes_ = 0;
};

}  // namespace

ServerImpl::ServerImpl(ServerOptions options, Router& router, common::Metrics& metrics)
    : options_(std::move(options)),
      router_(router),
      metrics_(metrics),
      acceptor_(net::make_strand(ioc_)),
      accept_retry_(acceptor_.get_executor()) {
  const std::size_t threads =
      options_.compute_threads > 0 ? options_.compute_threads : std::max(1u, std::thread::hardware_concurrency());
  const std::size_t capacity = options_.queue_capacity > 0 ? options_.queue_capacity : kDefaultQueueCapacity;
  ComputePool::Observers observers;
  observers.queue_depth = [g = &metrics_.queue_depth](std::size_t n) { g->Set(static_cast<double>(n)); };
  observers.active = [g = &metrics_.compute_active](std::size_t n) { g->Set(static_cast<double>(n)); };
  observers.memory_in_use = [g = &metrics_.memory_in_use](std::uint64_t n) { g->Set(static_cast<double>(n)); };
  if (options_.memory_budget) metrics_.memory_budget.Set(static_cast<double>(options_.memory_budget->limit()));
  pool_ = std::make_unique<ComputePool>(ComputePool::Options{.threads = threads,
                                                             .max_waiting = capacity,
                                                             .budget = options_.memory_budget,
                                                             .nice = options_.compute_nice},
                                        observers);
  if (options_.client_limits.any()) client_limits_ = std::make_unique<ClientLimits>(options_.client_limits);
  if (options_.relay_threads > 0) {
    relay_pool_ = std::make_unique<ComputePool>(ComputePool::Options{.threads = options_.relay_threads,
                                                                     .max_waiting = 4 * options_.relay_threads,
                                                                     .budget = options_.memory_budget},
                                                ComputePool::Observers{.memory_in_use = observers.memory_in_use});
  }
}

ServerImpl::~ServerImpl() {
  Stop();
  Join();
}

common::Expected<std::uint16_t, std::string> ServerImpl::Start() {
  if (started_) return common::Unexpected<std::string>{"server already started"};
  for (const std::string& entry : options_.trusted_proxies) {
    auto network = ParseNetwork(entry);
    if (!network) return common::Unexpected<std::string>{"invalid trusted proxy '" + entry + "': want an address or CIDR block"};
    trusted_proxies_.push_back(*network);
  }
  beast::error_code ec;
  const auto address = net::ip::make_address(options_.host, ec);
  if (ec) return common::Unexpected<std::string>{"invalid listen address '" + options_.host + "': " + ec.message()};
  const tcp::endpoint endpoint(address, options_.port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    beast::error_code ignored;
    acceptor_.close(ignored);
    return common::Unexpected<std::string>{"cannot listen on " + options_.host + ":" + std::to_string(options_.port) +
                                           ": " + ec.message()};
  }
  const std::uint16_t port = acceptor_.local_endpoint().port();
  {
    std::lock_guard lock(mu_);
    started_ = true;
  }
  work_.emplace(ioc_.get_executor());
  Accept();
  const std::size_t io_threads = std::max<std::size_t>(1, options_.io_threads);
  for (std::size_t i = 0; i < io_threads; ++i) threads_.emplace_back([this] { ioc_.run(); });
  return port;
}

void ServerImpl::Accept() {
  acceptor_.async_accept(net::make_strand(ioc_),
                         [this](beast::error_code ec, tcp::socket socket) { OnAccept(ec, std::move(socket)); });
}

void ServerImpl::OnAccept(beast::error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;  // Stop()
  if (ec) {
    // Out of descriptors and the like: back off instead of spinning, then keep serving.
    spdlog::warn("http accept failed: {}", ec.message());
    accept_retry_.expires_after(std::chrono::milliseconds(50));
    accept_retry_.async_wait([this](beast::error_code wait_ec) {
      if (!wait_ec && acceptor_.is_open()) Accept();
    });
    return;
  }
  auto session = std::make_shared<Session>(*this, std::move(socket));
  switch (Register(session.get(), session)) {
    case Admission::kAdmitted: {
      ClientLimits::Refusal refusal;
      if (client_limits_ && !Trusted(session->peer_ip()) && !session->AdmitConnection(*client_limits_, refusal)) {
        metrics_.rejected.WithLabels({"client_connections"}).Inc();
        session->Reject(429, "too_many_connections", "too many connections from one client", refusal.detail,
                        refusal.retry_after);
        break;
      }
      session->Run();
      break;
    }
    case Admission::kFull:
      metrics_.rejected.WithLabels({"too_many_connections"}).Inc();
      session->Reject(503, "too_many_connections", "too many connections",
                      "the server is at its limit of " + std::to_string(options_.max_connections) + " connections",
                      options_.retry_after);
      break;
    case Admission::kStopping:
      break;  // the socket closes with the session
  }
  Accept();
}

ServerImpl::Admission ServerImpl::Register(Session* s, std::weak_ptr<Session> w) {
  std::lock_guard lock(mu_);
  if (stop_requested_) return Admission::kStopping;
  if (sessions_.size() >= options_.max_connections) return Admission::kFull;
  sessions_.emplace(s, std::move(w));
  return Admission::kAdmitted;
}

common::Expected<std::vector<std::string>, std::string> ParseTrustedProxies(std::string_view comma_list) {
  std::vector<std::string> entries;
  while (!comma_list.empty()) {
    const auto comma = comma_list.find(',');
    const std::string_view entry = TrimWhitespace(comma_list.substr(0, comma));
    comma_list = comma == std::string_view::npos ? std::string_view() : comma_list.substr(comma + 1);
    if (entry.empty()) continue;
    if (!ParseNetwork(entry)) {
      return common::Unexpected<std::string>{"'" + std::string(entry) + "' is not an address or CIDR block"};
    }
    entries.emplace_back(entry);
  }
  return entries;
}

bool ServerImpl::Trusted(const net::ip::address& address) const {
  for (const auto& [network, prefix] : trusted_proxies_) {
    if (network.is_v4() && address.is_v4() &&
        net::ip::make_network_v4(address.to_v4(), prefix).canonical().address() == network.to_v4()) {
      return true;
    }
    if (network.is_v6() && address.is_v6() &&
        net::ip::make_network_v6(address.to_v6(), prefix).canonical().address() == network.to_v6()) {
      return true;
    }
  }
  return false;
}

void ServerImpl::Unregister(Session* s) {
  std::lock_guard lock(mu_);
  if (sessions_.erase(s) > 0 && sessions_.empty()) cv_.notify_all();
}

void ServerImpl::Stop() {
  std::vector<std::shared_ptr<Session>> live;
  bool started = false;
  {
    std::lock_guard lock(mu_);
    if (stop_requested_) return;
    started = started_;
    stop_requested_ = true;
    stopping_ = true;
    for (auto& [raw, weak] : sessions_) {
      if (auto s = weak.lock()) live.push_back(std::move(s));
    }
  }
  cv_.notify_all();
  if (!started) return;
  net::post(acceptor_.get_executor(), [this] {
    beast::error_code ec;
    acceptor_.close(ec);
    accept_retry_.cancel();
  });
  for (auto& s : live) net::post(s->executor(), [s] { s->OnServerStop(); });
}

void ServerImpl::Join() {
  std::unique_lock lock(mu_);
  if (joined_ || !started_) {
    joined_ = true;
    return;
  }
  cv_.wait(lock, [this] { return stop_requested_; });
  if (!cv_.wait_for(lock, options_.drain_timeout, [this] { return sessions_.empty(); })) {
    spdlog::warn("http server: {} connections still open after the drain timeout; closing them", sessions_.size());
  }
  joined_ = true;
  lock.unlock();
  work_.reset();
  ioc_.stop();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  if (relay_pool_) relay_pool_->Shutdown();
  pool_->Shutdown();
}

ServerStats ServerImpl::Stats() const {
  ServerStats s;
  {
    std::lock_guard lock(mu_);
    s.connections = sessions_.size();
  }
  s.in_flight = in_flight_.load(std::memory_order_relaxed);
  s.queue_depth = pool_->QueueDepth();
  s.compute_active = pool_->Active();
  s.queue_capacity = pool_->capacity();
  s.compute_threads = pool_->threads();
  if (const MemoryBudget* budget = pool_->budget()) {
    s.memory_budget = budget->limit();
    s.memory_in_use = budget->in_use();
  }
  return s;
}

Server::Server(ServerOptions options, Router& router, common::Metrics& metrics)
    : impl_(std::make_unique<ServerImpl>(std::move(options), router, metrics)) {}

Server::~Server() = default;

common::Expected<std::uint16_t, std::string> Server::Start() { return impl_->Start(); }
void Server::Stop() { impl_->Stop(); }
void Server::Join() { impl_->Join(); }
ServerStats Server::Stats() const { return impl_->Stats(); }
const ServerOptions& Server::options() const { return impl_->options_; }

}  // namespace http
