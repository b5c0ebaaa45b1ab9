#include "operator/members/admin.h"

#include <nlohmann/json.hpp>

namespace stegocluster::members {
namespace {

using common::Unexpected;
using Json = nlohmann::json;

common::Expected<kube::HttpResponse, std::string> PostJson(const std::string& ip, int port, const std::string& admin_key,
                                                           const std::string& path, const Json& body,
                                                           std::chrono::milliseconds timeout) {
  return CallMember(ip, port, admin_key,
                    {.method = "POST", .path = path, .body = body.dump(), .content_type = "application/json"}, timeout);
}

std::string Describe(const std::string& ip, const std::string& path, const kube::HttpResponse& answer) {
  return "POST " + ip + path + ": " + std::to_string(answer.status) + " " + answer.body;
}

}  // namespace

common::Expected<kube::HttpResponse, std::string> CallMember(const std::string& ip, int port,
                                                             const std::string& admin_key,
                                                             const kube::HttpRequest& request,
                                                             std::chrono::milliseconds timeout) {
  const std::string where = "http://" + ip + ":" + std::to_string(port);
  auto transport = kube::Transport::Create({.server = where, .token = admin_key}, timeout);
  if (!transport) return Unexpected{transport.error()};
  auto answer = (*transport)->Send(request);
  if (!answer) return Unexpected{request.method + " " + where + request.path + ": " + answer.error()};
  return std::move(*answer);
}

common::Expected<void, std::string> TransferLeadership(const std::string& ip, int port, const std::string& admin_key,
                                                       const std::string& target, std::chrono::milliseconds timeout) {
  const std::string path = "/admin/transfer-leadership";
  auto answer = PostJson(ip, port, admin_key, path, {{"target", target}}, timeout);
  if (!answer) return Unexpected{answer.error()};
  if (answer->status != 200) return Unexpected{Describe(ip, path, *answer)};
  return {};
}

common::Expected<void, std::string> Drain(const std::string& ip, int port, const std::string& admin_key,
                                          std::chrono::milliseconds timeout) {
  const std::string path = "/admin/drain";
  auto answer = PostJson(ip, port, admin_key, path, Json::object(), timeout);
  if (!answer) return Unexpected{answer.error()};
  if (answer->status != 200) return Unexpected{Describe(ip, path, *answer)};
  return {};
}

common::Expected<void, std::string> RemoveMember(const std::string& ip, int port, const std::string& admin_key,
                                                 const std::string& member, std::chrono::milliseconds timeout) {
  const std::string path = "/admin/members";
  auto answer = PostJson(ip, port, admin_key, path, {{"action", "remove"}, {"name", member}}, timeout);
  if (!answer) return Unexpected{answer.error()};
  // 404 no_such_member: removed already (a pass repeated after a crash).
  if (answer->status != 200 && answer->status != 404) return Unexpected{Describe(ip, path, *answer)};
  return {};
}

}  // namespace stegocluster::members
