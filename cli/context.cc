// Context and the file helpers every command shares.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "cli/commands.h"

namespace stegoctl {

ApiClient& Context::client() {
  if (!client_) client_ = std::make_unique<ApiClient>(settings_.servers, settings_.credentials, settings_.timeout);
  return *client_;
}

std::vector<std::string> Context::Arguments() const {
  return vm_.count("arguments") ? vm_["arguments"].as<std::vector<std::string>>() : std::vector<std::string>{};
}

std::string ReadInput(const std::string& path) {
  if (path == "-") return std::string(std::istreambuf_iterator<char>(std::cin), {});
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CommandError(kLocalFile, "cannot read " + path + ": " + std::strerror(errno));
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

void WriteOutput(const std::string& path, const std::string& bytes, bool overwrite) {
  if (path == "-") {
    std::cout.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    std::cout.flush();
    return;
  }
  // O_EXCL: a file already there is never replaced by accident (the server names the output).
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (overwrite ? O_TRUNC : O_EXCL), 0644);
  if (fd < 0) {
    throw CommandError(kLocalFile, "cannot write " + path + ": " + std::strerror(errno) +
                                       (errno == EEXIST ? " (--force overwrites, -O names another file)" : ""));
  }
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      throw CommandError(kLocalFile, "writing " + path + ": " + why);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0) throw CommandError(kLocalFile, "writing " + path + ": " + std::strerror(errno));
}

std::string ResolveCoverId(Context& ctx, const std::string& prefix) {
  if (prefix.size() == 64) return prefix;
  const nlohmann::json library =
      Expect2xx("list covers", ctx.client().Send({.target = "/api/v1/covers?consistent=true"})).Json();
  std::vector<std::string> matches;
  for (const nlohmann::json& c : library["covers"]) {
    if (c["id"].get<std::string>().rfind(prefix, 0) == 0) matches.push_back(c["id"]);
  }
  if (matches.size() == 1 && !prefix.empty()) return matches.front();
  throw CommandError(matches.empty() ? kNotFound : kUsage,
                     matches.empty() ? "no cover id starts with \"" + prefix + "\""
                                     : "\"" + prefix + "\" names several covers");
}

}  // namespace stegoctl
