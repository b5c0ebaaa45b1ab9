// Informer: keeps a Store of one resource type in step with the server by list + watch, and tells
// event handlers about each change, as client-go's shared informer does:
//   - List (paged) → Store::Replace → handlers; then ResumableWatch from the list's
//     resourceVersion, each event → Store::Apply → handlers.
//   - 410 Gone (the watch fell behind etcd's compaction) → relist; the Store turns the relist into
//     exactly the changes missed (adds, updates, deletes), so no state is lost or reported twice.
//   - A failed list is retried with back-off. Everything runs on the informer's own thread;
//     handlers run there in order, after the Store has been updated, and must not block for long
//     (a controller puts the object's key on a WorkQueue and returns).
// Owns its thread and Store; the Client must outlive it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "operator/kube/client.h"
#include "operator/kube/store.h"
#include "operator/kube/watch.h"

namespace kube {

struct EventHandlers {
  std::function<void(const Json& object)> on_add;
  std::function<void(const Json& old_object, const Json& object)> on_update;
  std::function<void(const Json& last_known)> on_delete;
};

struct InformerOptions {
  std::string ns{};  // "" = all namespaces
  std::string label_selector{};
  std::int64_t page_size = 500;
  std::chrono::seconds watch_timeout{300};
  ResumeOptions resume{};
};

class Informer {
 public:
  Informer(Client& client, GroupVersionResource gvr, InformerOptions options, EventHandlers handlers);
  ~Informer();  // Stop()
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  void Start();
  void Stop();  // ends the watch and joins the thread; idempotent
  // True once the first list is in the Store (false on timeout).
  bool WaitForSync(std::chrono::milliseconds timeout);

  const Store& store() const { return store_; }
  std::uint64_t lists() const { return lists_; }  // successful (re)lists, the first included
  std::uint64_t resumes() const { return resumes_; }  // watch reconnections without a relist

 private:
  void Run(std::stop_token stop);
  void Dispatch(const Delta& delta);

  Client& client_;
  const GroupVersionResource gvr_;
  const InformerOptions options_;
  const EventHandlers handlers_;
  Store store_;
  std::atomic<std::uint64_t> lists_{0};
  std::atomic<std::uint64_t> resumes_{0};
  std::mutex mu_;
  std::condition_variable synced_cv_;
  bool synced_ = false;
  std::jthread thread_;
};

}  // namespace kube
