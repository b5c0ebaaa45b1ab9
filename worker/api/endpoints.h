// Endpoints: where the worker's routes are registered, each with its access level (access.h) and
// the fault-injection pause applied.
//
// POST /admin/fail {"action":"pause"} makes the member behave as a hung one: every route answers
// 503 until /admin/restore, except the admin routes themselves (added with AddAlwaysOn), so the
// operator of a test can undo the pause; a cluster member also stops exchanging Raft messages.
// {"action":"isolate"} cuts only the Raft messages, as a network partition between the members
// would: the API keeps answering, so clients see what an isolated member tells them.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "worker/api/access.h"
#include "worker/http/router.h"

namespace api {

class PauseSwitch {
 public:
  enum class State { kServing, kPaused, kIsolated };

  // Called on every change with whether the member must stop taking part in Raft (paused or
  // isolated). Set before the server starts.
  void OnChange(std::function<void(bool cut_off)> listener) { listener_ = std::move(listener); }
  void Pause() { Set(State::kPaused); }
  void Isolate() { Set(State::kIsolated); }
  void Restore() { Set(State::kServing); }
  bool paused() const { return state_.load() == State::kPaused; }  // the API answers 503

 private:
  void Set(State state) {
    state_.store(state);
    if (listener_) listener_(state != State::kServing);
  }

  std::atomic<State> state_{State::kServing};
  std::function<void(bool)> listener_;
};

class Endpoints {
 public:
  // `access` must outlive the routes.
  Endpoints(http::Router& router, const PauseSwitch& pause, const AccessControl& access)
      : router_(router), pause_(pause), access_(access) {}

  // Wraps the handler of every route added from now on, inside the access check and the pause (so
  // a refused call never reaches it); the first installed wraps innermost. A cluster member
  // installs its job ledger and dispatch this way (cluster/member_services.h).
  void Use(http::Middleware middleware) { middleware_.push_back(std::move(middleware)); }

  // A route that answers 503 "paused" while the member is paused.
  void Add(std::string method, std::string pattern, Access access, http::Handler handler,
           http::RouteOptions options = {});
  // A route that keeps answering while paused (the admin routes that undo a pause).
  void AddAlwaysOn(std::string method, std::string pattern, Access access, http::Handler handler,
                   http::RouteOptions options = {});

 private:
  http::Handler Guarded(Access access, http::Handler handler) const;
  http::Handler Wrapped(http::RouteInfo& route, http::Handler handler) const;  // by middleware_

  http::Router& router_;
  const PauseSwitch& pause_;
  const AccessControl& access_;
  std::vector<http::Middleware> middleware_;
};

}  // namespace api
