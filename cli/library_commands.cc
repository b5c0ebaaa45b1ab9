// covers, keys, jobs, config: the cluster's replicated library and settings. Reads ask for
// ?consistent=true, so that a listing includes every write acknowledged before it; writes carry an
// Idempotency-Key (ApiClient), so that a retried one takes effect once.
#include <chrono>
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "common/rfc3339.h"
#include "cli/multipart.h"

namespace stegoctl {
namespace {

using nlohmann::json;

// The action (the first argument, `fallback` when none) and its operands.
std::pair<std::string, std::vector<std::string>> ActionOf(Context& ctx, const std::string& fallback) {
  auto args = ctx.Arguments();
  if (args.empty()) return {fallback, {}};
  const std::string action = args.front();
  args.erase(args.begin());
  return {action, args};
}

void ExpectOperands(const std::vector<std::string>& operands, std::size_t n, const std::string& usage) {
  if (operands.size() != n) throw CommandError(kUsage, "usage: stegoctl " + usage);
}

json GetJson(Context& ctx, const std::string& what, const std::string& target, bool admin = false) {
  return Expect2xx(what, ctx.client().Send({.target = target, .admin = admin})).Json();
}

json Write(Context& ctx, const std::string& what, Request request) {
  request.write = true;
  request.admin = true;
  return Expect2xx(what, ctx.client().Send(request)).Json();
}

// DELETE of one item (admin); "removed <shown>" for people.
void RemoveOne(Context& ctx, const std::string& what, const std::string& target, const std::string& shown) {
  Write(ctx, "remove " + what, {.method = "DELETE", .target = target});
  if (!ctx.json()) ctx.out() << "removed " << shown << "\n";
}

// Prints `body` whole for -o json, else the table.
void Show(Context& ctx, const json& body, const Table& table) {
  if (ctx.json()) {
    ctx.out() << body.dump() << "\n";
  } else {
    table.Print(ctx.out());
  }
}

int Covers(Context& ctx) {
  const auto [action, operands] = ActionOf(ctx, "list");
  if (action == "list") {
    ExpectOperands(operands, 0, "covers list");
    const json body = GetJson(ctx, "list covers", "/api/v1/covers?consistent=true");
    Table table({"id", "name", "format", "size", "width", "height", "capacity", "created"});
    for (const json& c : body["covers"]) {
      table.Add({c["id"].get<std::string>().substr(0, 12), c.value("name", json()).is_string() ? c["name"].get<std::string>() : "-",
                 c["format"], HumanBytes(c["size_bytes"]), std::to_string(c["width"].get<int>()),
                 std::to_string(c["height"].get<int>()), HumanBytes(c["capacity_bytes"]), c["created_at"]});
    }
    Show(ctx, body, table);
  } else if (action == "add") {
    if (operands.empty()) throw CommandError(kUsage, "usage: stegoctl covers add IMAGE...");
    for (const std::string& path : operands) {
      MultipartForm form;
      form.File("file", std::filesystem::path(path).filename().string(), "application/octet-stream", ReadInput(path));
      const json cover = Write(ctx, "add cover " + path,
                               {.method = "POST", .target = "/api/v1/covers", .body = form.Body(), .content_type = form.ContentType()});
      if (ctx.json()) {
        ctx.out() << cover.dump() << "\n";
      } else {
        ctx.out() << cover["id"].get<std::string>() << "  " << path << "\n";
      }
    }
  } else if (action == "get") {
    ExpectOperands(operands, 1, "covers get ID [-O FILE]");
    const std::string id = ResolveCoverId(ctx, operands[0]);
    const Response image = Expect2xx("get cover", ctx.client().Send({.target = "/api/v1/covers/" + id + "/image"}));
    const std::string path = ctx.Get<std::string>("out").value_or(SafeFileName(image.Header("Content-Disposition"), id));
    WriteOutput(path, image.body, ctx.vm()["force"].as<bool>());
    if (!ctx.json() && path != "-") std::cerr << "wrote " << path << " (" << HumanBytes(image.body.size()) << ")\n";
  } else if (action == "rm") {
    ExpectOperands(operands, 1, "covers rm ID");
    RemoveOne(ctx, "cover", "/api/v1/covers/" + ResolveCoverId(ctx, operands[0]), operands[0]);
  } else {
    throw CommandError(kUsage, "covers: list, add, get or rm, not " + action);
  }
  return kOk;
}

int Keys(Context& ctx) {
  const auto [action, operands] = ActionOf(ctx, "list");
  if (action == "list") {
    ExpectOperands(operands, 0, "keys list");
    const json body = GetJson(ctx, "list keys", "/api/v1/keys?consistent=true", /*admin=*/true);
    Table table({"id", "name", "role", "created"});
    for (const json& k : body["keys"]) table.Add({k["id"], k["name"], k["role"], k["created_at"]});
    Show(ctx, body, table);
  } else if (action == "create") {
    ExpectOperands(operands, 1, "keys create NAME [--role user|admin]");
    const json key = Write(ctx, "create key",
                           {.method = "POST", .target = "/api/v1/keys",
                            .body = json{{"name", operands[0]}, {"role", ctx.Get<std::string>("role").value_or("user")}}.dump(),
                            .content_type = "application/json"});
    if (ctx.json()) {
      ctx.out() << key.dump() << "\n";
    } else {
      ctx.out() << key["key"].get<std::string>() << "\n";
      std::cerr << "key " << key["id"].get<std::string>() << " (" << key["role"].get<std::string>()
                << "): its secret above is shown this once\n";
    }
  } else if (action == "rm") {
    ExpectOperands(operands, 1, "keys rm ID");
    RemoveOne(ctx, "key", "/api/v1/keys/" + operands[0], operands[0]);
  } else {
    throw CommandError(kUsage, "keys: list, create or rm, not " + action);
  }
  return kOk;
}

int Jobs(Context& ctx) {
  const auto [action, operands] = ActionOf(ctx, "list");
  if (action == "get") {
    ExpectOperands(operands, 1, "jobs get ID");
    const json job = GetJson(ctx, "get job", "/api/v1/jobs/" + operands[0] + "?consistent=true");
    ctx.out() << (ctx.json() ? job.dump() : job.dump(2)) << "\n";
    return kOk;
  }
  if (action != "list") throw CommandError(kUsage, "jobs: list or get, not " + action);
  ExpectOperands(operands, 0, "jobs list [--limit N]");
  const int limit = ctx.Get<int>("limit").value_or(20);
  const json body = GetJson(ctx, "list jobs", "/api/v1/jobs?consistent=true&limit=" + std::to_string(limit));
  Table table({"id", "kind", "member", "started", "ms", "in", "out", "status"});
  for (const json& j : body["jobs"]) {
    const std::string status = j["status"] == "ok" ? "ok" : std::to_string(j["http_status"].get<int>()) + " " + j.value("error", "");
    const std::chrono::system_clock::time_point started{std::chrono::milliseconds(j["started_at"].get<std::int64_t>())};
    table.Add({j["id"], j["kind"], j["member"], common::FormatRfc3339(started), std::to_string(j["duration_ms"].get<long>()),
               HumanBytes(j["input_bytes"]), HumanBytes(j["output_bytes"]), status});
  }
  Show(ctx, body, table);
  return kOk;
}

// KEY=VALUE: the value as JSON when it parses (numbers, true), else as a string.
json ConfigPatch(const std::vector<std::string>& assignments) {
  json patch = json::object();
  for (const std::string& a : assignments) {
    const auto eq = a.find('=');
    if (eq == std::string::npos || eq == 0) throw CommandError(kUsage, "config set takes KEY=VALUE, not " + a);
    const std::string text = a.substr(eq + 1);
    json value = json::parse(text, nullptr, false);
    patch[a.substr(0, eq)] = value.is_discarded() ? json(text) : value;
  }
  return patch;
}

int Config(Context& ctx) {
  const auto [action, operands] = ActionOf(ctx, "get");
  json body;
  if (action == "get") {
    ExpectOperands(operands, 0, "config get");
    body = GetJson(ctx, "get config", "/api/v1/config?consistent=true");
  } else if (action == "set") {
    if (operands.empty()) throw CommandError(kUsage, "usage: stegoctl config set KEY=VALUE...");
    body = Write(ctx, "set config",
                 {.method = "PUT", .target = "/api/v1/config", .body = ConfigPatch(operands).dump(), .content_type = "application/json"});
  } else {
    throw CommandError(kUsage, "config: get or set, not " + action);
  }
  Table table({"key", "value"});
  for (const auto& [key, value] : body["config"].items()) table.Add({key, value.is_string() ? value.get<std::string>() : value.dump()});
  table.Add({"(version)", std::to_string(body.value("version", 0))});
  Show(ctx, body, table);
  return kOk;
}

}  // namespace

std::vector<Command> LibraryCommands() {
  return {
      {"covers", "[list | add IMAGE... | get ID [-O FILE] | rm ID]", "the replicated cover library (add and rm: admin)",
       [](po::options_description& o) {
         o.add_options()("out,O", po::value<std::string>(), "get: where to write (- for stdout)")
                        ("force,f", po::bool_switch(), "get: overwrite an existing file");
       },
       Covers},
      {"keys", "[list | create NAME [--role user|admin] | rm ID]", "API keys (admin)",
       [](po::options_description& o) { o.add_options()("role", po::value<std::string>(), "create: user (default) or admin"); },
       Keys},
      {"jobs", "[list [--limit N] | get ID]", "the cluster's newest stego jobs",
       [](po::options_description& o) { o.add_options()("limit", po::value<int>(), "list: how many (default 20, at most 1000)"); },
       Jobs},
      {"config", "[get | set KEY=VALUE...]", "the replicated configuration (set: admin)", nullptr, Config},
  };
}

}  // namespace stegoctl
