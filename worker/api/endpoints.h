// Endpoints: where the worker's routes are registered, with the fault-injection pause applied.
//
// POST /admin/fail {"action":"pause"} makes the member behave as a hung one: every route answers
// 503 until /admin/restore, except the admin routes themselves (added with AddAlwaysOn), so the
// operator of a test can undo the pause; a cluster member also stops exchanging Raft messages.
#pragma once

#include <atomic>
#include <functional>
#include <string>

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
  Endpoints(http::Router& router, const PauseSwitch& pause) : router_(router), pause_(pause) {}

  // A route that answers 503 "paused" while the member is paused.
  void Add(std::string method, std::string pattern, http::Handler handler, http::RouteOptions options = {});
  // A route that keeps answering while paused (admin).
  void AddAlwaysOn(std::string method, std::string pattern, http::Handler handler, http::RouteOptions options = {});

 private:
  http::Router& router_;
  const PauseSwitch& pause_;
};

}  // namespace api
