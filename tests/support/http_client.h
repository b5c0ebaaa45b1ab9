// Test-only HTTP client: synchronous calls (each with a deadline) over one keep-alive connection,
// a multipart/form-data body builder, and a raw connection for protocol-level tests.
//
// Built on Boost.Beast, kept out of this header. Every failure (connect, timeout, malformed answer)
// throws std::runtime_error with what went wrong, so a test fails with a readable message.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace testsupport {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
  int status = 0;
  int version = 11;
  HeaderList headers;
  std::string body;

  // First header of that name (case-insensitive).
  std::optional<std::string> Header(std::string_view name) const;
  // The body parsed as JSON; throws when it is not JSON.
  nlohmann::json Json() const;
};

// Builds a multipart/form-data body the way curl -F does.
class MultipartBuilder {
 public:
  explicit MultipartBuilder(std::string boundary = "------------------------stegotest4f1c9a");

  MultipartBuilder& Field(std::string_view name, std::string_view value);
  MultipartBuilder& File(std::string_view name, std::string_view filename, std::string_view content_type,
                         std::string_view data);

  std::string ContentType() const;  // multipart/form-data; boundary=...
  std::string Body() const;         // with the close delimiter

 private:
  std::string boundary_;
  std::string parts_;
};

// One connection, opened on first use and re-opened when the server closed it.
class HttpClient {
 public:
  // `source`: the local address to connect from (another loopback address, e.g. 127.0.0.2, to
  // stand for another client); empty: the kernel's choice.
  HttpClient(std::string host, std::uint16_t port, std::chrono::milliseconds timeout = std::chrono::seconds(30),
             std::string source = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // A "Host" in `headers` replaces the default host:port (to address a reverse proxy's virtual host).
  HttpResponse Request(std::string_view method, std::string_view target, std::string_view body = {},
                       const HeaderList& headers = {});
  HttpResponse Get(std::string_view target, const HeaderList& headers = {});
  HttpResponse Post(std::string_view target, std::string_view body, std::string_view content_type,
                    const HeaderList& headers = {});
  HttpResponse PostMultipart(std::string_view target, const MultipartBuilder& form, const HeaderList& headers = {});

  void Close();
  // How many TCP connections this client has opened (keep-alive tests).
  int connections_opened() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A bare TCP connection for tests that must control the bytes on the wire.
class RawConnection {
 public:
  RawConnection(std::string host, std::uint16_t port, std::chrono::milliseconds timeout = std::chrono::seconds(10),
                std::string source = {});  // as HttpClient's
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  // Throws when the peer has closed or reset the connection.
  void Send(std::string_view bytes);
  // Like Send, but reports failure instead of throwing (writing to a closed server is expected in
  // some tests).
  bool TrySend(std::string_view bytes);
  // Reads until `delimiter` has arrived; returns everything up to and including it.
  std::string ReadUntil(std::string_view delimiter);
  // Reads one complete HTTP response (after anything ReadUntil left in the buffer).
  HttpResponse ReadResponse(bool head_request = false);
  // True when the peer closes (EOF or reset) within `timeout`, discarding any bytes it sends first.
  bool WaitClosed(std::chrono::milliseconds timeout);
  void SetTimeout(std::chrono::milliseconds timeout);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace testsupport
