// Endpoints: where the worker's routes are registered, with the fault-injection pause applied.
//
// POST /admin/fail {"action":"pause"} makes the member behave as a hung one: every route answers
// 503 until /admin/restore, except the admin routes themselves (added with AddAlwaysOn), so the
// operator of a test can undo the pause.
#pragma once

#include <atomic>
#include <string>

#include "worker/http/router.h"

namespace api {

class PauseSwitch {
 public:
  void Pause() { paused_.store(true); }
  void Restore() { paused_.store(false); }
  bool paused() const { return paused_.load(); }

 private:
  std::atomic<bool> paused_{false};
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
