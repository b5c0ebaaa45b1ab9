#include "worker/cluster/identity.h"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

namespace cluster {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// Writes `text` to `path` so that a crash leaves either the old file or the new one, whole.
common::Expected<void, Error> WriteDurably(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return CannotStart("cannot write " + tmp.string());
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  std::error_code ec;
  if (ok) fs::rename(tmp, path, ec);
  if (!ok || ec) return CannotStart("cannot write " + path.string());
  const int dir = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return {};
}

}  // namespace

common::Expected<raft::NodeId, Error> LoadOrCreateIdentity(const fs::path& dir, const std::string& name) {
  const fs::path path = dir / "identity";
  if (std::ifstream in{path}) {
    const json j = json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object() || !j.contains("raft_id") || !j["raft_id"].is_number_unsigned() || !j.contains("name") ||
        !j["name"].is_string()) {
      return CannotStart(path.string() + " is damaged; refusing to guess this member's identity");
    }
    if (j["name"] != name) {
      return CannotStart(path.string() + " belongs to member \"" + j["name"].get<std::string>() + "\", not \"" + name +
                         "\"");
    }
    return j["raft_id"].get<raft::NodeId>();
  }
  if (fs::exists(dir / "raft")) return CannotStart(dir.string() + " holds Raft state but no identity file; refusing to start");
  std::random_device rd;
  raft::NodeId id = 0;
  while (id == 0) id = ((std::uint64_t{rd()} << 32) | rd()) >> 1;  // < 2^63: exact in JSON
  if (auto w = WriteDurably(path, json{{"raft_id", id}, {"name", name}}.dump()); !w) {
    return common::Unexpected{std::move(w).error()};
  }
  return id;
}

}  // namespace cluster
