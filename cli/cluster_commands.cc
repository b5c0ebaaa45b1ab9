// status, fail, restore, transfer: the members. Each member is addressed by its name as
// /cluster/status lists it (with its API address), so that a fault goes to the member meant, not
// to whichever the server list reaches first.
#include <algorithm>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "cli/commands.h"

namespace stegoctl {
namespace {

using nlohmann::json;

json ClusterStatus(Context& ctx) { return Expect2xx("cluster status", ctx.client().Send({.target = "/cluster/status"})).Json(); }

std::string AddressOf(const json& node) {
  return node["ip"].get<std::string>() + ":" + std::to_string(node["http_port"].get<int>());
}

// The API address of member `name`, from any member's view.
std::string MemberAddress(Context& ctx, const std::string& name) {
  const json status = ClusterStatus(ctx);
  for (const json& node : status["nodes"]) {
    if (node["id"] == name) return AddressOf(node);
  }
  std::string known;
  for (const json& node : status["nodes"]) known += " " + node["id"].get<std::string>();
  throw CommandError(kNotFound, "no member named " + name + " (members:" + known + ")");
}

// The leader's view of replication (applied index and lag per member), or null when it does not
// answer: the table then leaves those columns empty.
json ReplicationView(Context& ctx, const json& status) {
  for (const json& node : status["nodes"]) {
    if (node["role"] != "Leader") continue;
    const Response r = ctx.client().SendTo(AddressOf(node), {.target = "/api/v1/cluster"});
    if (r.status == 200) return r.Json();
  }
  return json();
}

std::string Fixed(double value, int decimals) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(decimals) << value;
  return out.str();
}

int Status(Context& ctx) {
  json status = ClusterStatus(ctx);
  const json view = ReplicationView(ctx, status);
  for (json& node : status["nodes"]) {
    for (const json& m : view.is_object() ? view["members"] : json::array()) {
      if (m["id"] != node["id"]) continue;
      node["applied"] = m["applied"];
      node["lag"] = m["lag"];
      node["suffrage"] = m["suffrage"];
    }
  }
  if (ctx.json()) {
    ctx.out() << status.dump() << "\n";
    return kOk;
  }
  const auto cell = [](const json& node, const char* key) {
    return node.contains(key) && !node[key].is_null() ? node[key].dump() : std::string("-");
  };
  std::sort(status["nodes"].begin(), status["nodes"].end(),
            [](const json& a, const json& b) { return a["id"].get<std::string>() < b["id"].get<std::string>(); });
  ctx.out() << "term " << status["term"] << ", leader "
            << (status["leader_id"].is_string() ? status["leader_id"].get<std::string>() : "none") << "\n";
  Table table({"member", "role", "address", "health", "applied", "lag", "cpu%", "mem%", "qps", "p95 ms"});
  for (const json& n : status["nodes"]) {
    table.Add({n["id"], n["role"], AddressOf(n), n["healthy"].get<bool>() ? "healthy" : "UNHEALTHY", cell(n, "applied"),
               cell(n, "lag"), Fixed(n["cpu_pct"], 1), Fixed(n["mem_pct"], 1), Fixed(n["qps_1m"], 2), Fixed(n["p95_ms"], 0)});
  }
  table.Print(ctx.out());
  return kOk;
}

void PrintAnswer(Context& ctx, const Response& r, const std::string& text) {
  if (ctx.json()) {
    ctx.out() << r.body << "\n";
  } else {
    ctx.out() << text << "\n";
  }
}

int Fail(Context& ctx) {
  const auto args = ctx.Arguments();
  if (args.size() != 2 || (args[1] != "crash" && args[1] != "pause" && args[1] != "isolate")) {
    throw CommandError(kUsage, "usage: stegoctl fail MEMBER crash|pause|isolate");
  }
  const std::string address = MemberAddress(ctx, args[0]);
  const Response r = ctx.client().SendTo(address, {.method = "POST", .target = "/admin/fail",
                                                  .body = json{{"action", args[1]}}.dump(),
                                                  .content_type = "application/json", .admin = true});
  // A crash ends the process before or while it answers: no answer is the expected one.
  if (!(args[1] == "crash" && r.status == 0)) Expect2xx("fail " + args[0], r);
  const std::string done = args[1] == "crash" ? "crashed" : args[1] == "pause" ? "paused" : "isolated";
  PrintAnswer(ctx, r, args[0] + ": " + done);
  return kOk;
}

int Restore(Context& ctx) {
  const auto args = ctx.Arguments();
  if (args.size() != 1) throw CommandError(kUsage, "usage: stegoctl restore MEMBER");
  const Response r = ctx.client().SendTo(MemberAddress(ctx, args[0]), {.method = "POST", .target = "/admin/restore",
                                                                       .content_type = "application/json", .admin = true});
  PrintAnswer(ctx, Expect2xx("restore " + args[0], r), args[0] + ": serving again");
  return kOk;
}

int Transfer(Context& ctx) {
  const auto args = ctx.Arguments();
  if (args.size() > 1) throw CommandError(kUsage, "usage: stegoctl transfer [MEMBER]");
  const json status = ClusterStatus(ctx);
  if (!status["leader_id"].is_string()) throw CommandError(kUnavailable, "transfer: no leader known right now");
  const std::string leader = status["leader_id"];
  const json body = args.empty() ? json::object() : json{{"target", args[0]}};
  const Response r = ctx.client().SendTo(MemberAddress(ctx, leader), {.method = "POST", .target = "/admin/transfer-leadership",
                                                                       .body = body.dump(), .content_type = "application/json",
                                                                       .admin = true});
  const json moved = Expect2xx("transfer", r).Json();
  const std::string now = moved.value("leader_id", "?");
  PrintAnswer(ctx, r, now == leader ? now + " leads already" : "leadership moved from " + leader + " to " + now);
  return kOk;
}

}  // namespace

std::vector<Command> ClusterCommands() {
  return {
      {"status", "", "the members: role, address, health, replication, load", nullptr, Status},
      {"fail", "MEMBER crash|pause|isolate", "fault injection on one member (admin)", nullptr, Fail},
      {"restore", "MEMBER", "undo a pause or an isolation (admin)", nullptr, Restore},
      {"transfer", "[MEMBER]", "hand leadership to MEMBER, or to the most up-to-date voter (admin)", nullptr, Transfer},
  };
}

}  // namespace stegoctl
