// Where stegoctl's settings come from, first found wins: the command line, then the environment
// (STEGOCTL_<OPTION>, e.g. STEGOCTL_SERVER, STEGOCTL_ADMIN_KEY), then the config file
// ($STEGOCTL_CONFIG, else $XDG_CONFIG_HOME/stegoctl/config, else ~/.config/stegoctl/config: lines
// of `option = value`, as on the command line without the dashes), then the defaults. Keys and
// passwords never need to be on the command line, where other users see them in the process list.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "cli/api_client.h"

namespace stegoctl {

namespace po = boost::program_options;

// The options every command takes, before or after its name.
po::options_description GlobalOptions();

// Stores the environment's and the config file's values in `vm` (below what is there already).
// Throws CommandError(kUsage) on an unknown option in the file.
void LayerEnvironmentAndConfigFile(const po::options_description& options, po::variables_map& vm);
std::filesystem::path ConfigFilePath();

enum class Format { kText, kJson };

struct Settings {
  std::vector<std::string> servers;
  Credentials credentials;
  std::chrono::milliseconds timeout{};
  Format format = Format::kText;
  bool progress = true;
};

// The global options, validated. Throws CommandError(kUsage) saying what is wrong.
Settings SettingsFrom(const po::variables_map& vm);

// The password for embed/extract: $STEGOCTL_PASSWORD when set, else typed at the terminal without
// echo (twice when `confirm`). Throws CommandError(kUsage) with neither.
std::string ReadPassword(bool confirm);

}  // namespace stegoctl
