#include "worker/http/tls.h"

#include <array>
#include <mutex>

#include <sys/stat.h>

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

namespace http {
namespace {

namespace ssl = boost::asio::ssl;
using Clock = std::chrono::steady_clock;

// What stat says of one file; equal signatures: nothing to reload.
struct FileSignature {
  std::int64_t mtime_ns = -1;
  std::int64_t size = -1;
  std::uint64_t inode = 0;
  bool operator==(const FileSignature&) const = default;
};
using Signature = std::array<FileSignature, 3>;  // cert, key, client CA

FileSignature Stat(const std::string& path) {
  struct stat st {};
  if (path.empty() || ::stat(path.c_str(), &st) != 0) return {};
  return {static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
          static_cast<std::int64_t>(st.st_size), static_cast<std::uint64_t>(st.st_ino)};
}

Signature SignatureOf(const TlsFiles& files) { return {Stat(files.cert), Stat(files.key), Stat(files.client_ca)}; }

// The session id context lets a client resume a session on a server that verifies client
// certificates (OpenSSL refuses the resumption without one).
constexpr unsigned char kSessionContext[] = "stego-cluster";

common::Expected<std::shared_ptr<ssl::context>, std::string> Build(const TlsFiles& files) {
  try {
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
    // TLS 1.2 and 1.3 only.
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                     ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
    ctx->use_certificate_chain_file(files.cert);
    ctx->use_private_key_file(files.key, ssl::context::pem);
    if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
      return common::Unexpected<std::string>{"the key in " + files.key + " is not the key of " + files.cert};
    }
    if (!files.client_ca.empty()) {
      ctx->load_verify_file(files.client_ca);
      ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
      if (!files.client_name.empty()) ctx->set_verify_callback(ssl::host_name_verification(files.client_name));
      SSL_CTX_set_session_id_context(ctx->native_handle(), kSessionContext, sizeof kSessionContext - 1);
    }
    return ctx;
  } catch (const boost::system::system_error& e) {
    return common::Unexpected<std::string>{std::string(e.what())};
  }
}

}  // namespace

struct ServerTls::State {
  std::mutex mu;
  std::shared_ptr<ssl::context> context;  // guarded by mu
  Signature loaded;                        // what `context` was built from, or last refused
  Clock::time_point next_check;
  std::uint64_t reloads = 0;
};

common::Expected<std::shared_ptr<ServerTls>, std::string> ServerTls::Load(TlsFiles files,
                                                                          std::chrono::milliseconds check_interval) {
  auto state = std::make_unique<State>();
  state->loaded = SignatureOf(files);
  auto context = Build(files);
  if (!context) return common::Unexpected<std::string>{context.error()};
  state->context = std::move(*context);
  state->next_check = Clock::now() + check_interval;
  return std::shared_ptr<ServerTls>(new ServerTls(std::move(files), check_interval, std::move(state)));
}

ServerTls::ServerTls(TlsFiles files, std::chrono::milliseconds check_interval, std::unique_ptr<State> state)
    : files_(std::move(files)), check_interval_(check_interval), state_(std::move(state)) {}

ServerTls::~ServerTls() = default;

std::shared_ptr<ssl::context> ServerTls::Current() {
  std::lock_guard lock(state_->mu);
  const auto now = Clock::now();
  if (now < state_->next_check) return state_->context;
  state_->next_check = now + check_interval_;
  const Signature seen = SignatureOf(files_);
  if (seen == state_->loaded) return state_->context;
  // Remembered whether or not it loads: a broken set is reported once, and tried again only
  // when the files change again.
  state_->loaded = seen;
  auto context = Build(files_);
  if (!context) {
    spdlog::warn("tls: {} and {} changed but do not load ({}); new connections keep the previous certificate",
                 files_.cert, files_.key, context.error());
    return state_->context;
  }
  state_->context = std::move(*context);
  ++state_->reloads;
  spdlog::info("tls: reloaded {} and {}{}", files_.cert, files_.key,
               files_.client_ca.empty() ? "" : " and " + files_.client_ca);
  return state_->context;
}

std::uint64_t ServerTls::reloads() const {
  std::lock_guard lock(state_->mu);
  return state_->reloads;
}

}  // namespace http
