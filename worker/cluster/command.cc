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

std::string WithRequestKey(std::string_view command, const RequestKey& request) {
  auto decoded = DecodeCommand(command);
  if (!decoded) return std::string(command);  // not a command: applied (refused) without a key
  decoded->header["request"] = {{"key", request.key}, {"digest", request.digest}};
  return EncodeCommand(decoded->header, decoded->blob);
}

std::optional<RequestKey> RequestKeyOf(const Command& command) {
  const auto it = command.header.find("request");
  if (it == command.header.end() || !it->is_object()) return std::nullopt;
  const auto key = it->find("key");
  const auto digest = it->find("digest");
  if (key == it->end() || !key->is_string() || digest == it->end() || !digest->is_string()) return std::nullopt;
  return RequestKey{key->get<std::string>(), digest->get<std::string>()};
}

}  // namespace cluster
