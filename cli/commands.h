// stegoctl's commands: each declares its options and runs against a Context. The table is split by
// what the commands touch: the stego engine (stego_commands.cc), the replicated library and
// settings (library_commands.cc), the members (cluster_commands.cc), load (bench.cc).
#pragma once

#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/api_client.h"
#include "cli/download_name.h"
#include "cli/output.h"
#include "cli/settings.h"

namespace stegoctl {

class Context {
 public:
  Context(const po::variables_map& vm, Settings settings, std::ostream& out)
      : vm_(vm), settings_(std::move(settings)), out_(out) {}

  const po::variables_map& vm() const { return vm_; }
  const Settings& settings() const { return settings_; }
  bool json() const { return settings_.format == Format::kJson; }
  std::ostream& out() { return out_; }
  ApiClient& client();  // made on first use

  // The value of an option, or nullopt when not given.
  template <class T>
  std::optional<T> Get(const char* name) const {
    return vm_.count(name) ? std::optional<T>(vm_[name].as<T>()) : std::nullopt;
  }
  // The positional arguments after the command's name.
  std::vector<std::string> Arguments() const;

 private:
  const po::variables_map& vm_;
  Settings settings_;
  std::ostream& out_;
  std::unique_ptr<ApiClient> client_;
};

struct Command {
  std::string name;
  std::string usage;    // the arguments after the name, e.g. "IMAGE [-O FILE]"
  std::string summary;  // one line
  std::function<void(po::options_description&)> declare;  // its own options (may be empty)
  std::function<int(Context&)> run;                        // the exit code
};

std::vector<Command> StegoCommands();
std::vector<Command> LibraryCommands();
std::vector<Command> ClusterCommands();
Command BenchCommand();

// Files: whole-file reads and writes that say what failed (CommandError kLocalFile). "-" is
// stdin / stdout.
std::string ReadInput(const std::string& path);
// Writes `bytes` to `path`; an existing file is kept unless `overwrite`.
void WriteOutput(const std::string& path, const std::string& bytes, bool overwrite);

// A cover id from a unique prefix of it, as `covers list` shows them (12 characters); the API
// takes whole ids.
std::string ResolveCoverId(Context& ctx, const std::string& prefix);

}  // namespace stegoctl
