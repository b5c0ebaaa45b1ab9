// Endpoints: where the worker's routes are registered, each with its access level (access.h) and
// the fault-injection pause applied.
//
// POST /admin/fail {"action":"pause"} makes the member behave as a hung one: every route answers
// 503 until /admin/restore, except the admin routes themselves (added with AddAlwaysOn), so the
// operator of a test can undo the pause; a cluster member also stops exchanging Raft messages.
#pragma once

#include <atomic>
#include <functional>
#include <string>

#include "worker/api/access.h"
#include "worker/http/router.h"

namespace api {

class PauseSwitch {
 public:
  // Also called on every change, e.g. so that a cluster member stops taking part in Raft while
  // paused. Set before the server starts.
  void OnChange(std::function<void(bool paused)> listener) { listener_ = std::move(listener); }
  void Pause() { Set(true); }
  void Restore() { Set(false); }
  bool paused() const { return paused_.load(); }

 private:
  void Set(bool paused) {
    paused_.store(paused);
    if (listener_) listener_(paused);
  }

  std::atomic<bool> paused_{false};
  std::function<void(bool)> listener_;
};

class Endpoints {
 public:
  // `access` must outlive the routes.
  Endpoints(http::Router& router, const PauseSwitch& pause, const AccessControl& access)
      : router_(router), pause_(pause), access_(access) {}

  // A route that answers 503 "paused" while the member is paused.
  void Add(std::string method, std::string pattern, Access access, http::Handler handler,
           http::RouteOptions options = {});
  // A route that keeps answering while paused (the admin routes that undo a pause).
  void AddAlwaysOn(std::string method, std::string pattern, Access access, http::Handler handler,
                   http::RouteOptions options = {});

 private:
  http::Handler Guarded(Access access, http::Handler handler) const;

  http::Router& router_;
  const PauseSwitch& pause_;
  const AccessControl& access_;
};

}  // namespace api
