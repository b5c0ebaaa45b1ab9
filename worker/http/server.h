// Server: a Boost.Beast HTTP/1.x server that reads requests in full, routes them through a Router
// and writes the handlers' Responses. No Boost type appears here (pimpl), so code that only sets a
// server up compiles fast.
//
// What it guarantees, whatever the client does:
//   - HTTP/1.1 and 1.0, keep-alive, pipelined requests answered in order.
//   - `Expect: 100-continue`: "100 Continue" is sent before the body is read, but only once the
//     route, the body limit and the compute queue have accepted the request; otherwise the final
//     error (404/405/413/503) is sent at once and the connection closed.
//   - Limits: a Content-Length over the body limit gets 413 before any body byte is read; a chunked
//     body is cut off at the limit (413); a header block over max_header_bytes gets 431; malformed
//     HTTP gets 400; in every such case the connection is closed afterwards. A client that is
//     silent (idle_timeout), slow to send its head (header_timeout) or its body (body_timeout), or
//     slow to read the answer (write_timeout) is disconnected; other clients are not affected.
//   - Routes marked `compute` run on a pool of compute_threads, admitted by memory: each job is
//     charged its body size plus its route's working-set estimate (RouteOptions::working_set_bytes,
//     else default_working_set_bytes) against memory_budget (shared with other servers of the
//     process), from the moment its head is read (its Content-Length, or the body limit when
//     chunked: half-read bodies count) until it has run. A job is refused with 503 (code
//     "overloaded", Retry-After) only when the charges already taken leave no room for it, or when
//     queue_capacity jobs already wait (a hard count cap); one whose charge alone exceeds the
//     whole budget gets 503 "overloaded" without Retry-After, saying so. The memory is checked
//     before the body is read, the queue again at submission. Compute threads run
//     `compute_nice` lower than the others (the API server lowers them so that the Raft threads
//     are not starved; the peer server's own IO threads stay at normal priority).
//     Other routes run inline on the IO threads, so /healthz keeps answering while the pool is
//     saturated. Handlers must therefore be fast unless marked compute. A compute route's `relay`
//     may hand a request to the relay pool instead (relay_threads, 4 waiting per thread, charged
//     like a compute job), for work that waits on another server rather than computing.
//   - With ServerOptions::tls (tls.h), HTTPS only: each connection's handshake runs under
//     header_timeout with the context current at accept (reloaded when its files change); a
//     failed handshake is logged and counted, and the connection closed; a plain HTTP request
//     gets a plain 400 "https_required" and the connection closed. Without it, plain HTTP.
//   - With a CORS policy (ServerOptions::cors, cors.h), preflights are answered here, before any
//     route guard, and every answer carries the policy's fields for an allowed Origin.
//   - A handler that throws gets a 500 JSON error; the process stays up.
//   - Every request carries a request id: a sane incoming X-Request-Id (1-128 chars of
//     [A-Za-z0-9._:-]) or a fresh random one; it is echoed in X-Request-Id and logged.
//   - Each request is logged with the default spdlog logger (method, path, status, duration, body
//     bytes in/out, request id, peer) and counted in the Metrics registry:
//       http_requests_total{route,status}          counter
//       http_request_duration_seconds{route}       histogram
//       http_request_body_bytes_total{route}       counter
//       http_response_body_bytes_total{route}      counter
//       http_requests_in_flight                    gauge
//       http_connections_open                      gauge
//       http_compute_queue_depth                   gauge
//       http_compute_active                        gauge
//       http_compute_memory_budget_bytes           gauge    (0: no memory budget)
//       http_compute_memory_in_use_bytes           gauge    (charges of admitted jobs)
//       http_rejected_total{reason}                counter  (overloaded, too_many_connections,
//                                                           client_concurrency, client_rate,
//                                                           client_connections)
//       http_tls_handshake_failures_total          counter
//     `route` is the route's name, or "none" when no route matched.
//
// Ownership: the Router and Metrics must outlive the Server; the router must not change after
// Start(). Every error the server writes itself uses Response::Error.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/expected.h"
#include "worker/http/client_limits.h"
#include "worker/http/cors.h"
#include "worker/http/router.h"
#include "worker/http/tls.h"

namespace common {
class Metrics;
}

namespace http {

class ServerImpl;    // opaque; defined in server.cc
class MemoryBudget;  // compute_pool.h

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;                  // 0: an ephemeral port, see Start()
  std::size_t io_threads = 2;
  std::size_t compute_threads = 0;         // 0: one per core
  std::size_t queue_capacity = 0;          // compute jobs allowed to wait (count cap); 0: 256
  // What admitted compute jobs may hold in all; may be shared between servers. Null: no memory
  // bound, only the count cap.
  std::shared_ptr<MemoryBudget> memory_budget{};
  std::uint64_t default_working_set_bytes = 64 << 10;  // charge of a compute route that names none
  int compute_nice = 0;                    // added to the compute threads' nice value
  std::size_t relay_threads = 0;           // for RouteOptions::relay; 0: relays run on the compute pool
  std::uint64_t max_body_bytes = 64ull << 20;  // per request, unless the route sets its own
  std::uint32_t max_header_bytes = 16 * 1024;  // request line and header fields
  std::size_t max_connections = 1024;      // further connections get 503 and are closed
  std::chrono::milliseconds header_timeout{10'000};  // from the first byte to the end of the head
  std::chrono::milliseconds body_timeout{120'000};   // whole body
  std::chrono::milliseconds idle_timeout{60'000};    // keep-alive wait for the next request
  std::chrono::milliseconds write_timeout{60'000};   // whole response
  std::chrono::milliseconds drain_timeout{30'000};   // Join() waits this long for in-flight requests
  std::chrono::seconds retry_after{1};     // Retry-After of 503 overload answers
  // Cross-origin policy (cors.h) applied to every answer; null: no CORS fields, and a preflight
  // is an OPTIONS request like any other (405).
  std::shared_ptr<const CorsPolicy> cors{};
  // What one client may take (client_limits.h): requests beyond its concurrency or rate get 429
  // with Retry-After before their body is read, after a pause of 250 ms (so that a client that
  // ignores Retry-After cannot make the server spend its cores on refusals); connections beyond
  // its share get 429 at once and are closed. Routes marked quiet (probes, metrics) are not
  // counted. Refusals are logged at debug level only, and counted in http_rejected_total.
  ClientLimitOptions client_limits{};
  // Addresses or CIDR blocks of reverse proxies (an Ingress controller): a request through one is
  // counted against the client its X-Forwarded-For names last, and the proxy's own connections
  // against no limit. Start() refuses an entry that does not parse.
  std::vector<std::string> trusted_proxies{};
  // HTTPS (and with a client CA, mutual TLS) on this port; null: plain HTTP.
  std::shared_ptr<ServerTls> tls{};
};

// A comma-separated list of addresses and CIDR blocks (ServerOptions::trusted_proxies), each
// checked; empty entries are skipped.
common::Expected<std::vector<std::string>, std::string> ParseTrustedProxies(std::string_view comma_list);

struct ServerStats {
  std::size_t connections = 0;
  std::size_t in_flight = 0;        // requests read but not yet answered
  std::size_t queue_depth = 0;      // compute jobs waiting
  std::size_t compute_active = 0;   // compute jobs running
  std::size_t queue_capacity = 0;
  std::size_t compute_threads = 0;
  std::uint64_t memory_budget = 0;  // bytes; 0: none
  std::uint64_t memory_in_use = 0;  // charges of admitted compute jobs
};

class Server {
 public:
  Server(ServerOptions options, Router& router, common::Metrics& metrics);
  ~Server();  // Stop() then Join()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds, listens and starts the threads. Returns the bound port, or why binding failed.
  common::Expected<std::uint16_t, std::string> Start();

  // Stops accepting, closes idle keep-alive connections, and lets requests already being read or
  // handled finish (their answers carry Connection: close). Returns at once; thread-safe; not
  // async-signal-safe (call it from a signal-watching thread, not a signal handler).
  void Stop();

  // Blocks until Stop() has been called and in-flight requests have finished (at most
  // drain_timeout after Stop()), then joins every thread. Idempotent.
  void Join();

  ServerStats Stats() const;
  const ServerOptions& options() const;

 private:
  std::unique_ptr<ServerImpl> impl_;
};

}  // namespace http
