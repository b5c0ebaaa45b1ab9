#include "worker/http/client_limits.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <iterator>
#include <utility>

namespace http {

ClientLimits::Ticket::Ticket(Ticket&& other) noexcept
    : limits_(std::exchange(other.limits_, nullptr)), kind_(other.kind_), clients_(std::move(other.clients_)) {}

ClientLimits::Ticket& ClientLimits::Ticket::operator=(Ticket&& other) noexcept {
  if (this != &other) {
    if (limits_) limits_->Release(*this);
    limits_ = std::exchange(other.limits_, nullptr);
    kind_ = other.kind_;
    clients_ = std::move(other.clients_);
  }
  return *this;
}

ClientLimits::Ticket::~Ticket() {
  if (limits_) limits_->Release(*this);
}

ClientLimits::ClientLimits(ClientLimitOptions options)
    : options_(options), burst_(options.burst > 0 ? options.burst : std::max(1.0, options.rate)) {}

std::vector<std::string> ClientLimits::ClientsOf(const std::string& address, std::optional<std::string_view> bearer) {
  std::vector<std::string> clients = {"address " + address};
  if (bearer && !bearer->empty()) {
    // A digest, not the key: client names end up in logs and error bodies.
    char digest[17];
    std::snprintf(digest, sizeof digest, "%016zx", std::hash<std::string_view>{}(*bearer));
    clients.push_back(std::string("key ") + digest);
  }
  return clients;
}

std::size_t ClientLimits::tracked() const {
  std::lock_guard lk(mu_);
  return clients_.size();
}

void ClientLimits::Refill(State& s, Clock::time_point now) const {
  if (options_.rate <= 0) return;
  const double elapsed = std::chrono::duration<double>(now - s.refilled).count();
  if (elapsed > 0) s.tokens = std::min(burst_, s.tokens + elapsed * options_.rate);
  s.refilled = std::max(s.refilled, now);
}

ClientLimits::State* ClientLimits::Find(const std::string& client, Clock::time_point now) {
  if (auto it = clients_.find(client); it != clients_.end()) {
    Refill(it->second, now);
    return &it->second;
  }
  if (clients_.size() >= options_.max_clients) return nullptr;
  return &clients_.emplace(client, State{.tokens = burst_, .refilled = now}).first->second;
}

void ClientLimits::MakeRoom(std::size_t newcomers, Clock::time_point now) {
  if (clients_.size() + newcomers <= options_.max_clients) return;
  for (auto it = clients_.begin(); it != clients_.end();) {
    State& s = it->second;
    Refill(s, now);
    const bool idle = s.in_flight == 0 && s.connections == 0 && (options_.rate <= 0 || s.tokens >= burst_);
    it = idle ? clients_.erase(it) : std::next(it);
  }
}

std::optional<ClientLimits::Ticket> ClientLimits::AdmitRequest(const std::vector<std::string>& clients,
                                                                Clock::time_point now, Refusal& refusal) {
  std::lock_guard lk(mu_);
  MakeRoom(clients.size(), now);
  std::vector<std::pair<const std::string*, State*>> states;
  for (const std::string& client : clients) {
    State* s = Find(client, now);
    if (!s) continue;
    if (options_.concurrency > 0 && s->in_flight >= options_.concurrency) {
      refusal = {.limit = "concurrency",
                 .client = client,
                 .detail = "more than " + std::to_string(options_.concurrency) + " requests at once from " + client,
                 .retry_after = std::chrono::seconds(1)};
      return std::nullopt;
    }
    if (options_.rate > 0 && s->tokens < 1) {
      const double wait = (1 - s->tokens) / options_.rate;
      refusal = {.limit = "rate",
                 .client = client,
                 .detail = "more than " + std::to_string(static_cast<long>(options_.rate)) +
                           " requests per second from " + client,
                 .retry_after = std::chrono::seconds(std::max(1L, static_cast<long>(std::ceil(wait))))};
      return std::nullopt;
    }
    states.emplace_back(&client, s);
  }
  Ticket ticket;
  ticket.limits_ = this;
  ticket.kind_ = Ticket::Kind::kRequest;
  for (auto& [client, s] : states) {
    ++s->in_flight;
    if (options_.rate > 0) s->tokens -= 1;
    ticket.clients_.push_back(*client);
  }
  return ticket;
}

std::optional<ClientLimits::Ticket> ClientLimits::AdmitConnection(const std::string& address, Clock::time_point now,
                                                                   Refusal& refusal) {
  std::lock_guard lk(mu_);
  MakeRoom(1, now);
  const std::string client = "address " + address;
  State* s = Find(client, now);
  if (s && options_.connections > 0 && s->connections >= options_.connections) {
    refusal = {.limit = "connections",
               .client = client,
               .detail = "more than " + std::to_string(options_.connections) + " connections at once from " + client,
               .retry_after = std::chrono::seconds(1)};
    return std::nullopt;
  }
  // Made only now, under mu_: a ticket destroyed here would take mu_ again to give back.
  Ticket ticket;
  ticket.limits_ = this;
  ticket.kind_ = Ticket::Kind::kConnection;
  if (s) {
    ++s->connections;
    ticket.clients_.push_back(client);
  }
  return ticket;
}

void ClientLimits::Release(Ticket& ticket) {
  std::lock_guard lk(mu_);
  for (const std::string& client : ticket.clients_) {
    auto it = clients_.find(client);
    if (it == clients_.end()) continue;
    auto& count = ticket.kind_ == Ticket::Kind::kRequest ? it->second.in_flight : it->second.connections;
    if (count > 0) --count;
  }
  ticket.clients_.clear();
  ticket.limits_ = nullptr;
}

}  // namespace http
