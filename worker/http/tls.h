// ServerTls: what a Server (server.h) needs to speak HTTPS: a certificate and key, optionally a CA
// whose signature clients must show (mutual TLS), and the OpenSSL context made from them.
//
// Reload rule: the files are looked at again (stat: modification time, size, inode) when a
// connection is accepted, at most once per check interval. When they changed, a new context is
// built from them and used for connections accepted from then on; connections already open keep
// theirs. A set that does not load (a half-written file, a key that is not the certificate's, a
// CA that does not parse) keeps the previous context and logs a warning, once per change seen.
// Kubernetes updates a mounted Secret by swapping a symlink, which changes the inode.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "common/expected.h"

namespace boost::asio::ssl {
class context;
}

namespace http {

struct TlsFiles {
  std::string cert;       // PEM: the certificate, then any intermediates
  std::string key;        // PEM: its private key
  std::string client_ca;  // PEM: when set, a client must present a certificate this CA signed
  std::string client_name{};  // with client_ca: a name (DNS subjectAltName) that certificate must carry
};

class ServerTls {
 public:
  // Loads the files once, or says why they do not make a usable context.
  static common::Expected<std::shared_ptr<ServerTls>, std::string> Load(
      TlsFiles files, std::chrono::milliseconds check_interval = std::chrono::seconds(1));

  ~ServerTls();
  ServerTls(const ServerTls&) = delete;
  ServerTls& operator=(const ServerTls&) = delete;

  // The context for a connection accepted now (after the reload check above). Thread-safe.
  std::shared_ptr<boost::asio::ssl::context> Current();

  const TlsFiles& files() const { return files_; }
  bool mutual() const { return !files_.client_ca.empty(); }
  std::uint64_t reloads() const;  // contexts built after the first

 private:
  struct State;
  ServerTls(TlsFiles files, std::chrono::milliseconds check_interval, std::unique_ptr<State> state);

  const TlsFiles files_;
  const std::chrono::milliseconds check_interval_;
  std::unique_ptr<State> state_;
};

}  // namespace http
