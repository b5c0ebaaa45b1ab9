// embed, extract, capacity: the stego engine through the API.
#include <unistd.h>

#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "cli/multipart.h"

namespace stegoctl {
namespace {

constexpr char kImageTypes[] = "png, bmp, tiff or webp";

// The type a file is sent with: the server sniffs images itself, so this only names what it is.
std::string ContentTypeOf(const std::string& path) {
  const std::string ext = std::filesystem::path(path).extension().string();
  if (ext == ".png") return "image/png";
  if (ext == ".jpg" || ext == ".jpeg") return "image/jpeg";
  if (ext == ".bmp") return "image/bmp";
  if (ext == ".tif" || ext == ".tiff") return "image/tiff";
  if (ext == ".webp") return "image/webp";
  if (ext == ".txt") return "text/plain";
  return "application/octet-stream";
}

std::string BaseName(const std::string& path) {
  return path == "-" ? "stdin" : std::filesystem::path(path).filename().string();
}

void AddCover(Context& ctx, MultipartForm& form) {
  if (auto cover = ctx.Get<std::string>("cover")) {
    form.File("cover", BaseName(*cover), ContentTypeOf(*cover), ReadInput(*cover));
  } else if (auto id = ctx.Get<std::string>("cover-id")) {
    form.Field("cover_id", ResolveCoverId(ctx, *id));
  }
}

void AddLsbBits(Context& ctx, MultipartForm& form) {
  if (auto bits = ctx.Get<int>("lsb")) {
    if (*bits < 1 || *bits > 4) throw CommandError(kUsage, "--lsb is 1 to 4 bits per colour channel");
    form.Field("lsb_bits", std::to_string(*bits));
  }
}

// Sends a form with a progress bar for a big upload.
Response SendForm(Context& ctx, const std::string& target, const MultipartForm& form) {
  Request request{.method = "POST", .target = target, .body = form.Body(), .content_type = form.ContentType()};
  ProgressBar bar(ctx.settings().progress, request.body.size());
  request.progress = bar.Callback();
  return ctx.client().Send(request);
}

// Where a download goes: -O's path, or the server's filename in the current directory.
std::string Destination(Context& ctx, const Response& response, const std::string& fallback) {
  if (auto out = ctx.Get<std::string>("out")) return *out;
  return SafeFileName(response.Header("Content-Disposition"), fallback);
}

void ReportFile(Context& ctx, const std::string& path, const Response& response, const std::string& what) {
  const std::string member = response.Header("X-Stego-Member");
  if (ctx.json()) {
    ctx.out() << nlohmann::json{{"file", path}, {"bytes", response.body.size()},
                                {"content_type", response.Header("Content-Type")}, {"member", member}}
                     .dump()
              << "\n";
  } else if (path != "-") {
    std::cerr << what << " " << path << " (" << HumanBytes(response.body.size()) << ")"
              << (member.empty() ? "" : ", computed by " + member) << "\n";
  }
}

int Embed(Context& ctx) {
  const auto message = ctx.Get<std::string>("message");
  const auto message_file = ctx.Get<std::string>("message-file");
  const auto file = ctx.Get<std::string>("file");
  if ((message ? 1 : 0) + (message_file ? 1 : 0) + (file ? 1 : 0) != 1) {
    throw CommandError(kUsage, "embed hides one thing: --message, --message-file or --file");
  }
  if (ctx.Get<std::string>("cover") && ctx.Get<std::string>("cover-id")) {
    throw CommandError(kUsage, "--cover or --cover-id, not both");
  }
  MultipartForm form;
  AddCover(ctx, form);
  if (message) form.Field("message", *message);
  if (message_file) form.Field("message", ReadInput(*message_file));
  if (file) form.File("file", BaseName(*file), ContentTypeOf(*file), ReadInput(*file));
  if (ctx.vm()["password"].as<bool>()) form.Field("password", ReadPassword(/*confirm=*/true));
  AddLsbBits(ctx, form);
  if (auto format = ctx.Get<std::string>("format")) form.Field("format", *format);
  const Response done = Expect2xx("embed", SendForm(ctx, "/api/v1/embed", form));
  const std::string path = Destination(ctx, done, "stego.png");
  WriteOutput(path, done.body, ctx.vm()["force"].as<bool>());
  ReportFile(ctx, path, done, "wrote");
  return kOk;
}

int Extract(Context& ctx) {
  const auto args = ctx.Arguments();
  if (args.size() != 1) throw CommandError(kUsage, "extract takes one stego image");
  MultipartForm form;
  form.File("file", BaseName(args[0]), ContentTypeOf(args[0]), ReadInput(args[0]));
  if (ctx.vm()["password"].as<bool>()) form.Field("password", ReadPassword(/*confirm=*/false));
  const Response done = Expect2xx("extract", SendForm(ctx, "/api/v1/extract", form));
  // A message goes to stdout unless -O says otherwise; a file to its own name.
  // (the worker answers a message as message.txt, UTF-8 text; a hidden file keeps its own name).
  const bool message = done.Header("Content-Type") == "text/plain; charset=utf-8" &&
                       SafeFileName(done.Header("Content-Disposition"), "") == "message.txt";
  const std::string path = message && !ctx.Get<std::string>("out") ? "-" : Destination(ctx, done, "recovered.bin");
  if (path == "-" && ctx.json()) {
    ctx.out() << nlohmann::json{{"message", done.body}, {"member", done.Header("X-Stego-Member")}}.dump() << "\n";
    return kOk;
  }
  // A message ends its line on a terminal; through a pipe its bytes stay exactly as hidden.
  const bool own_line = path == "-" && ::isatty(STDOUT_FILENO) && !done.body.empty() && done.body.back() != '\n';
  WriteOutput(path, own_line ? done.body + "\n" : done.body, ctx.vm()["force"].as<bool>());
  ReportFile(ctx, path, done, "recovered");
  return kOk;
}

int Capacity(Context& ctx) {
  MultipartForm form;
  AddCover(ctx, form);
  AddLsbBits(ctx, form);
  const Response done = Expect2xx("capacity", SendForm(ctx, "/api/v1/capacity", form));
  const nlohmann::json body = done.Json();
  if (ctx.json()) {
    ctx.out() << body.dump() << "\n";
    return kOk;
  }
  const nlohmann::json info = body.value("cover_info", nlohmann::json::object());
  ctx.out() << "cover " << info.value("width", 0) << "x" << info.value("height", 0) << ", "
            << info.value("channels", 0) << " channels\n";
  Table table({"lsb bits", "capacity"});
  const nlohmann::json by_lsb = body.value("capacity_bytes_by_lsb", nlohmann::json::object());
  for (const auto& [bits, bytes] : by_lsb.items()) {
    table.Add({bits, HumanBytes(bytes.get<std::uint64_t>()) + " (" + std::to_string(bytes.get<std::uint64_t>()) + " B)"});
  }
  table.Print(ctx.out());
  if (body.contains("capacity_bytes_with_password")) {
    ctx.out() << "with a password (LSB " << info.value("lsb_per_channel", 1) << "): "
              << body["capacity_bytes_with_password"].get<std::uint64_t>() << " B\n";
  }
  return kOk;
}

void CoverOptions(po::options_description& o) {
  o.add_options()("cover", po::value<std::string>(), "the cover image (PNG, BMP, TIFF, WebP or JPEG); default: the server's")
                 ("cover-id", po::value<std::string>(), "a cover of the library (stegoctl covers)")
                 ("lsb", po::value<int>(), "bits per colour channel, 1 to 4 (default: the cluster's)");
}

void DownloadOptions(po::options_description& o) {
  o.add_options()("out,O", po::value<std::string>(), "where to write (- for stdout); default: the server's filename here")
                 ("force,f", po::bool_switch(), "overwrite an existing file");
}

}  // namespace

std::vector<Command> StegoCommands() {
  return {
      {"embed", "(--message TEXT | --message-file FILE | --file FILE) [options]",
       "hide a message or a file in a cover image; writes the stego image",
       [](po::options_description& o) {
         CoverOptions(o);
         DownloadOptions(o);
         o.add_options()("message,m", po::value<std::string>(), "the text to hide")
                        ("message-file", po::value<std::string>(), "hide this file's text (- for stdin)")
                        ("file", po::value<std::string>(), "hide this file, keeping its name and type")
                        ("password,p", po::bool_switch(), "encrypt: asks for the password (or takes $STEGOCTL_PASSWORD)")
                        ("format", po::value<std::string>(), (std::string("the stego image's format: ") + kImageTypes).c_str());
       },
       Embed},
      {"extract", "IMAGE [options]", "recover what an image hides: a message to stdout, a file under its name",
       [](po::options_description& o) {
         DownloadOptions(o);
         o.add_options()("password,p", po::bool_switch(), "asks for the password (or takes $STEGOCTL_PASSWORD)");
       },
       Extract},
      {"capacity", "[--cover FILE | --cover-id ID] [--lsb N]", "how many bytes a cover can hide",
       CoverOptions, Capacity},
  };
}

}  // namespace stegoctl
