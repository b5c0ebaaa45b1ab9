#include "cli/settings.h"

#include <termios.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>

#include "cli/output.h"

namespace stegoctl {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string ReadKeyFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw CommandError(kLocalFile, "cannot read the key file " + path);
  std::string key;
  std::getline(in, key);
  return key;
}

// One line from the terminal (stdin) with echo off: off before the prompt shows, so that nothing
// typed in answer to it is echoed.
std::string ReadHidden(const std::string& prompt) {
  termios saved{};
  tcgetattr(STDIN_FILENO, &saved);
  termios quiet = saved;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  std::cerr << prompt << std::flush;
  std::string line;
  std::getline(std::cin, line);
  tcsetattr(STDIN_FILENO, TCSANOW, &saved);
  std::cerr << "\n";
  return line;
}

}  // namespace

po::options_description GlobalOptions() {
  po::options_description options("Global options (also STEGOCTL_<NAME> and the config file)");
  options.add_options()
      ("help,h", "this help, or the command's with a command")
      ("server,s", po::value<std::vector<std::string>>()->composing(),
       "a member's API address, host:port or URL; repeat or separate with commas (default 127.0.0.1:8081)")
      ("server-list", po::value<std::vector<std::string>>()->composing(), "the same as --server (the prototype's name)")
      ("output,o", po::value<std::string>()->default_value("text"), "text (for people) or json (for scripts)")
      ("timeout", po::value<double>()->default_value(30), "seconds to wait for each answer")
      ("api-key", po::value<std::string>(), "a user API key (prefer STEGOCTL_API_KEY or the config file)")
      ("api-key-file", po::value<std::string>(), "read the API key from this file")
      ("admin-key", po::value<std::string>(), "the admin key (prefer STEGOCTL_ADMIN_KEY or the config file)")
      ("admin-key-file", po::value<std::string>(), "read the admin key from this file")
      ("no-progress", po::bool_switch(), "no progress bar, even on a terminal");
  return options;
}

std::filesystem::path ConfigFilePath() {
  if (const std::string explicit_path = Env("STEGOCTL_CONFIG"); !explicit_path.empty()) return explicit_path;
  if (const std::string xdg = Env("XDG_CONFIG_HOME"); !xdg.empty()) return std::filesystem::path(xdg) / "stegoctl/config";
  return std::filesystem::path(Env("HOME")) / ".config/stegoctl/config";
}

namespace {

// Adds what `lower` holds and `vm` does not (or holds only as a default): a source does not add
// to a higher one's list (--server given on the command line replaces the environment's).
void FillGaps(po::variables_map& vm, const po::variables_map& lower) {
  auto& values = static_cast<std::map<std::string, po::variable_value>&>(vm);
  for (const auto& [name, value] : lower) {
    if (!value.defaulted() && (!vm.count(name) || vm[name].defaulted())) values[name] = value;
  }
}

}  // namespace

void LayerEnvironmentAndConfigFile(const po::options_description& options, po::variables_map& vm) {
  // STEGOCTL_ADMIN_KEY -> admin-key; variables that name no option (STEGOCTL_CONFIG,
  // STEGOCTL_PASSWORD) are not options.
  po::variables_map environment;
  po::store(po::parse_environment(options, [&options](const std::string& variable) -> std::string {
              if (variable.rfind("STEGOCTL_", 0) != 0) return "";
              std::string name = variable.substr(9);
              for (char& c : name) c = c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
              return options.find_nothrow(name, false) ? name : "";
            }),
            environment);
  FillGaps(vm, environment);
  const std::filesystem::path file = ConfigFilePath();
  std::ifstream in(file);
  if (!in) return;
  po::variables_map from_file;
  try {
    po::store(po::parse_config_file(in, options), from_file);
  } catch (const po::error& e) {
    throw CommandError(kUsage, file.string() + ": " + e.what());
  }
  const auto perms = std::filesystem::status(file).permissions();
  const bool others_read = (perms & (std::filesystem::perms::group_read | std::filesystem::perms::others_read)) !=
                           std::filesystem::perms::none;
  if (others_read && (from_file.count("admin-key") || from_file.count("api-key"))) {
    std::cerr << "stegoctl: warning: " << file.string() << " holds a key and others may read it (chmod 600)\n";
  }
  FillGaps(vm, from_file);
}

Settings SettingsFrom(const po::variables_map& vm) {
  Settings s;
  for (const char* name : {"server", "server-list"}) {
    if (!vm.count(name)) continue;
    for (const std::string& list : vm[name].as<std::vector<std::string>>()) {
      for (std::size_t start = 0; start <= list.size();) {
        const std::size_t comma = std::min(list.find(',', start), list.size());
        if (comma > start) s.servers.push_back(list.substr(start, comma - start));
        start = comma + 1;
      }
    }
  }
  if (s.servers.empty()) s.servers.push_back("127.0.0.1:8081");
  const std::string output = vm["output"].as<std::string>();
  if (output != "text" && output != "json") throw CommandError(kUsage, "--output is text or json, not " + output);
  s.format = output == "json" ? Format::kJson : Format::kText;
  const double timeout = vm["timeout"].as<double>();
  if (!(timeout > 0 && timeout <= 3600)) throw CommandError(kUsage, "--timeout is seconds in (0, 3600]");
  s.timeout = std::chrono::milliseconds(static_cast<long>(timeout * 1000));
  s.credentials.api_key = vm.count("api-key-file") ? ReadKeyFile(vm["api-key-file"].as<std::string>())
                          : vm.count("api-key")    ? vm["api-key"].as<std::string>()
                                                   : "";
  s.credentials.admin_key = vm.count("admin-key-file") ? ReadKeyFile(vm["admin-key-file"].as<std::string>())
                            : vm.count("admin-key")    ? vm["admin-key"].as<std::string>()
                                                       : "";
  s.progress = !vm["no-progress"].as<bool>();
  return s;
}

std::string ReadPassword(bool confirm) {
  if (const char* from_env = std::getenv("STEGOCTL_PASSWORD")) return from_env;
  if (::isatty(STDIN_FILENO) != 1) {
    throw CommandError(kUsage, "a password was asked for: set STEGOCTL_PASSWORD or run on a terminal");
  }
  const std::string password = ReadHidden("Password: ");
  if (password.empty()) throw CommandError(kUsage, "an empty password");
  if (confirm && ReadHidden("Again: ") != password) {
    throw CommandError(kUsage, "the passwords differ");
  }
  return password;
}

}  // namespace stegoctl
