// ClientLimits: what one client may take of a server, so that a greedy or hostile client cannot
// crowd out the others. A client is each source address and, separately, each API key (a bearer
// token); a request must fit under the limits of both:
//   - concurrency: requests in progress at once;
//   - rate: a token bucket of `rate` requests per second, `burst` at once;
//   - connections: connections open at once, per source address only (the key is not known when a
//     connection is accepted), so that slow clients (a byte every few seconds, heads that never
//     end) hold a bounded share of the server's max_connections.
// A refusal says which limit and how long to wait. Pure bookkeeping: no I/O, the clock is passed
// in, thread-safe. Clients that hold nothing and whose bucket is full are forgotten, so memory is
// bounded by max_clients entries; beyond that, new clients go untracked rather than refused (an
// attacker with many addresses must not lock everyone out).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace http {

struct ClientLimitOptions {
  std::uint32_t concurrency = 0;   // per client; 0: no limit
  double rate = 0;                 // requests per second per client; 0: no limit
  double burst = 0;                // bucket size; 0: max(1, rate)
  std::uint32_t connections = 0;   // per source address; 0: no limit
  std::size_t max_clients = 65536; // tracked at once

  bool any() const { return concurrency > 0 || rate > 0 || connections > 0; }
};

class ClientLimits {
 public:
  using Clock = std::chrono::steady_clock;

  struct Refusal {
    std::string limit;    // "concurrency", "rate" or "connections"
    std::string client;   // which client, as given to Admit (a key only by its digest)
    std::string detail;   // for the error body
    std::chrono::seconds retry_after{1};
  };

  // Holds what an admitted request (or connection) counts against; gives it back when destroyed.
  class Ticket {
   public:
    Ticket() = default;
    Ticket(Ticket&&) noexcept;
    Ticket& operator=(Ticket&&) noexcept;
    ~Ticket();

   private:
    friend class ClientLimits;
    enum class Kind { kRequest, kConnection };
    ClientLimits* limits_ = nullptr;
    Kind kind_ = Kind::kRequest;
    std::vector<std::string> clients_;  // the tracked ones
  };

  explicit ClientLimits(ClientLimitOptions options);
  ClientLimits(const ClientLimits&) = delete;
  ClientLimits& operator=(const ClientLimits&) = delete;

  // Client names for a request: "address <ip>", and "key <digest>" when it carries a bearer token.
  static std::vector<std::string> ClientsOf(const std::string& address, std::optional<std::string_view> bearer);

  // A request from `clients`: a ticket if it fits under every client's concurrency and rate limits
  // (one token is taken from each bucket), else the first limit it exceeds (and nothing is taken).
  std::optional<Ticket> AdmitRequest(const std::vector<std::string>& clients, Clock::time_point now, Refusal& refusal);
  // A connection from `address`, under the connection limit.
  std::optional<Ticket> AdmitConnection(const std::string& address, Clock::time_point now, Refusal& refusal);

  const ClientLimitOptions& options() const { return options_; }
  std::size_t tracked() const;

 private:
  struct State {
    std::uint32_t in_flight = 0;
    std::uint32_t connections = 0;
    double tokens = 0;
    Clock::time_point refilled{};
  };
  // The client's state, created with a full bucket; null when max_clients are tracked. mu_ held.
  State* Find(const std::string& client, Clock::time_point now);
  void Refill(State& s, Clock::time_point now) const;
  void Release(Ticket& ticket);
  // Forgets clients that hold nothing and have a full bucket, if `newcomers` would not fit. mu_ held.
  void MakeRoom(std::size_t newcomers, Clock::time_point now);

  const ClientLimitOptions options_;
  const double burst_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, State> clients_;  // guarded by mu_
};

}  // namespace http
