// Test-only HTTPS: one request over a fresh TLS connection (Boost.Beast over OpenSSL), trusting
// only the CA given, optionally presenting a client certificate; and the files of a test PKI made
// at run time (common/certificates.h), so that no private key is committed.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "common/certificates.h"
#include "tests/support/http_client.h"

namespace testsupport {

struct TlsClientOptions {
  std::string ca_pem;           // the only trusted issuer; empty: no verification at all
  std::string server_name{};    // checked against the certificate and sent as SNI; empty: not checked
  std::string cert_pem{};       // a client certificate to present (mutual TLS), with its key
  std::string key_pem{};
};

struct HttpsResult {
  HttpResponse response;
  std::string server_serial_hex;  // the serial of the certificate the server presented
};

// Connects, handshakes, sends one request (Connection: close) and reads the answer. Throws
// std::runtime_error naming the step that failed (e.g. "TLS handshake: certificate verify failed").
HttpsResult HttpsRequest(const std::string& host, std::uint16_t port, const TlsClientOptions& tls,
                         std::string_view method, std::string_view target, std::string_view body = {},
                         const HeaderList& headers = {}, std::chrono::milliseconds timeout = std::chrono::seconds(10));

// PEM text to `path` (made owner-only, as a mounted Secret's key would be), replacing it
// atomically unless `in_place` (then truncated and rewritten, as a careless editor would).
void WritePem(const std::filesystem::path& path, std::string_view pem, bool in_place = false);

// A CA and a certificate it signed for 127.0.0.1 and "localhost" (and for `extra_dns`), valid
// for a day. Throws when OpenSSL fails.
struct TestPki {
  common::CertifiedKey ca;
  common::CertifiedKey leaf;
};
TestPki MakeTestPki(const std::string& ca_name, const std::string& extra_dns = {});

// `pki` written as ca.crt, tls.crt and tls.key in `dir` (created), as a mounted Secret holds it.
struct TlsPaths {
  std::string ca;
  std::string cert;
  std::string key;
};
TlsPaths WriteTestPki(const std::filesystem::path& dir, const TestPki& pki);

}  // namespace testsupport
