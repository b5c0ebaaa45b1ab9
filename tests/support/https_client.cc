#include "tests/support/https_client.h"

#include <fstream>
#include <stdexcept>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/bn.h>
#include <openssl/x509.h>

namespace testsupport {
namespace {

namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;

std::string SerialOf(SSL* ssl_handle) {
  X509* cert = SSL_get1_peer_certificate(ssl_handle);
  if (!cert) return "";
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
  char* hex = BN_bn2hex(bn);
  std::string serial(hex);
  OPENSSL_free(hex);
  BN_free(bn);
  X509_free(cert);
  return serial;
}

}  // namespace

HttpsResult HttpsRequest(const std::string& host, std::uint16_t port, const TlsClientOptions& tls,
                         std::string_view method, std::string_view target, std::string_view body,
                         const HeaderList& headers, std::chrono::milliseconds timeout) {
  net::io_context ioc;
  ssl::context ctx(ssl::context::tls_client);
  std::string step = "client context";
  try {
    if (!tls.ca_pem.empty()) {
      ctx.add_certificate_authority(net::buffer(tls.ca_pem));
      ctx.set_verify_mode(ssl::verify_peer);
    }
    if (!tls.cert_pem.empty()) {
      ctx.use_certificate_chain(net::buffer(tls.cert_pem));
      ctx.use_private_key(net::buffer(tls.key_pem), ssl::context::pem);
    }
    beast::ssl_stream<beast::tcp_stream> stream(ioc, ctx);
    if (!tls.server_name.empty()) {
      SSL_set_tlsext_host_name(stream.native_handle(), tls.server_name.c_str());
      stream.set_verify_callback(ssl::host_name_verification(tls.server_name));
    }
    step = "connect";
    beast::get_lowest_layer(stream).expires_after(timeout);
    beast::get_lowest_layer(stream).connect(net::ip::tcp::endpoint(net::ip::make_address(host), port));
    step = "TLS handshake";
    stream.handshake(ssl::stream_base::client);
    HttpsResult result;
    result.server_serial_hex = SerialOf(stream.native_handle());
    step = "request";
    bhttp::request<bhttp::string_body> req(bhttp::string_to_verb(std::string(method)), std::string(target), 11);
    req.set(bhttp::field::host, host + ":" + std::to_string(port));
    req.set(bhttp::field::connection, "close");
    for (const auto& [name, value] : headers) req.set(name, value);
    req.body() = std::string(body);
    req.prepare_payload();
    bhttp::write(stream, req);
    step = "response";
    beast::flat_buffer buffer;
    bhttp::response<bhttp::string_body> res;
    beast::error_code ec;
    bhttp::read(stream, buffer, res, ec);
    if (ec) throw beast::system_error(ec);
    result.response.status = static_cast<int>(res.result_int());
    result.response.version = static_cast<int>(res.version());
    for (const auto& field : res) result.response.headers.emplace_back(field.name_string(), field.value());
    result.response.body = std::move(res.body());
    return result;
  } catch (const std::exception& e) {
    throw std::runtime_error("https://" + host + ":" + std::to_string(port) + std::string(target) + ": " + step +
                             ": " + e.what());
  }
}

void WritePem(const std::filesystem::path& path, std::string_view pem, bool in_place) {
  const std::filesystem::path written = in_place ? path : std::filesystem::path(path.string() + ".new");
  {
    std::ofstream out(written, std::ios::binary | std::ios::trunc);
    out << pem;
    if (!out) throw std::runtime_error("cannot write " + written.string());
  }
  std::filesystem::permissions(written, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  if (!in_place) std::filesystem::rename(written, path);
}

TestPki MakeTestPki(const std::string& ca_name, const std::string& extra_dns) {
  auto ca = common::MakeCertificateAuthority({.common_name = ca_name, .validity = std::chrono::hours(24)});
  if (!ca) throw std::runtime_error("test CA: " + ca.error());
  common::CertificateRequest request{.common_name = "localhost", .dns_names = {"localhost"},
                                     .ip_addresses = {"127.0.0.1"}, .validity = std::chrono::hours(24)};
  if (!extra_dns.empty()) request.dns_names.push_back(extra_dns);
  auto leaf = common::IssueCertificate(*ca, request);
  if (!leaf) throw std::runtime_error("test certificate: " + leaf.error());
  return {std::move(*ca), std::move(*leaf)};
}

TlsPaths WriteTestPki(const std::filesystem::path& dir, const TestPki& pki) {
  std::filesystem::create_directories(dir);
  WritePem(dir / "ca.crt", pki.ca.cert_pem);
  WritePem(dir / "tls.crt", pki.leaf.cert_pem);
  WritePem(dir / "tls.key", pki.leaf.key_pem);
  return {(dir / "ca.crt").string(), (dir / "tls.crt").string(), (dir / "tls.key").string()};
}

}  // namespace testsupport
