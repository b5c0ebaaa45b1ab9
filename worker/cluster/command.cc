#include "worker/cluster/command.h"

namespace cluster {

std::string EncodeCommand(const nlohmann::json& header, std::string_view blob) {
  std::string out = header.dump();
  if (!blob.empty()) {
    out.push_back('\0');
    out.append(blob);
  }
  return out;
}

std::optional<Command> DecodeCommand(std::string_view payload) {
  const auto nul = payload.find('\0');
  const std::string_view text = payload.substr(0, nul);
  Command command{nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false), {}};
  if (!command.header.is_object() || !command.header.contains("op") || !command.header["op"].is_string()) {
    return std::nullopt;
  }
  if (nul != std::string_view::npos) command.blob = payload.substr(nul + 1);
  return command;
}

}  // namespace cluster
