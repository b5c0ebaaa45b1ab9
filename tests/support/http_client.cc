#include "tests/support/http_client.h"

#include <cctype>
#include <limits>
#include <optional>
#include <stdexcept>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "worker/http/headers.h"

namespace testsupport {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

std::string QuoteParam(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

// A connection whose every operation is asynchronous under a deadline, driven to completion on a
// private io_context: synchronous to the caller, but never blocked forever (Asio's own blocking
// calls ignore SO_RCVTIMEO).
class Conn {
 public:
  Conn(std::string host, std::uint16_t port, std::chrono::milliseconds timeout, std::string source)
      : host_(std::move(host)), source_(std::move(source)), port_(port), timeout_(timeout), stream_(ioc_) {
    // Beast reads as much as the buffer has room for: left at its first 512 bytes, a 3 MB answer
    // took ~6,000 reads (and timer re-arms) instead of ~50.
    buffer_.reserve(64 * 1024);
  }

  void SetTimeout(std::chrono::milliseconds t) { timeout_ = t; }
  bool is_open() const { return open_; }

  void Connect() {
    buffer_.clear();
    beast::error_code ec;
    const auto address = net::ip::make_address(host_, ec);
    if (ec) throw std::runtime_error("bad host " + host_ + ": " + ec.message());
    if (!source_.empty()) {
      const auto local = net::ip::make_address(source_, ec);
      if (!ec) stream_.socket().open(local.is_v4() ? tcp::v4() : tcp::v6(), ec);
      if (!ec) stream_.socket().bind(tcp::endpoint(local, 0), ec);
      if (ec) throw std::runtime_error("bind to " + source_ + ": " + ec.message());
    }
    stream_.expires_after(timeout_);
    beast::error_code result;
    stream_.async_connect(tcp::endpoint(address, port_), [&](beast::error_code e) { result = e; });
    Run();
    if (result) throw std::runtime_error("connect to " + host_ + ":" + std::to_string(port_) + ": " + result.message());
    open_ = true;
    ++opened_;
  }

  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
    open_ = false;
    buffer_.clear();
  }

  beast::error_code Write(std::string_view bytes) {
    stream_.expires_after(timeout_);
    beast::error_code result;
    net::async_write(stream_, net::buffer(bytes.data(), bytes.size()),
                     [&](beast::error_code e, std::size_t) { result = e; });
    Run();
    return result;
  }

  beast::error_code WriteRequest(bhttp::request<bhttp::string_body>& req) {
    stream_.expires_after(timeout_);
    beast::error_code result;
    bhttp::async_write(stream_, req, [&](beast::error_code e, std::size_t) { result = e; });
    Run();
    return result;
  }

  // Appends what arrives next to the buffer.
  beast::error_code ReadSome() {
    stream_.expires_after(timeout_);
    beast::error_code result;
    stream_.async_read_some(buffer_.prepare(16 * 1024), [&](beast::error_code e, std::size_t n) {
      result = e;
      buffer_.commit(n);
    });
    Run();
    return result;
  }

  beast::error_code ReadResponse(bhttp::response_parser<bhttp::string_body>& parser) {
    stream_.expires_after(timeout_);
    beast::error_code result;
    bhttp::async_read(stream_, buffer_, parser, [&](beast::error_code e, std::size_t) { result = e; });
    Run();
    return result;
  }

  beast::flat_buffer& buffer() { return buffer_; }
  int opened() const { return opened_; }
  std::string where() const { return host_ + ":" + std::to_string(port_); }

 private:
  void Run() {
    ioc_.restart();
    ioc_.run();
  }

  std::string host_;
  std::string source_;
  std::uint16_t port_;
  std::chrono::milliseconds timeout_;
  net::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  bool open_ = false;
  int opened_ = 0;
};

HttpResponse ToResponse(bhttp::response<bhttp::string_body>&& msg) {
  HttpResponse r;
  r.status = static_cast<int>(msg.result_int());
  r.version = static_cast<int>(msg.version());
  for (const auto& f : msg) r.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  r.body = std::move(msg.body());
  return r;
}

HttpResponse ReadOneResponse(Conn& conn, bool head_request) {
  std::optional<bhttp::response_parser<bhttp::string_body>> parser;
  // Interim 1xx answers (100 Continue) are skipped: callers want the final answer.
  while (true) {
    parser.emplace();
    parser->body_limit(std::numeric_limits<std::uint64_t>::max());  // not boost::none: broken in Boost 1.74
    parser->header_limit(1u << 20);
    if (head_request) parser->skip(true);
    if (auto ec = conn.ReadResponse(*parser)) {
      throw std::runtime_error("reading a response from " + conn.where() + ": " + ec.message());
    }
    const unsigned status = parser->get().result_int();
    if (status >= 200 || status == 101) return ToResponse(parser->release());
  }
}

}  // namespace

std::optional<std::string> HttpResponse::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (http::EqualsIgnoreCase(key, name)) return value;
  }
  return std::nullopt;
}

nlohmann::json HttpResponse::Json() const {
  try {
    return nlohmann::json::parse(body);
  } catch (const std::exception& e) {
    throw std::runtime_error("response body is not JSON (" + std::string(e.what()) + "): " + body.substr(0, 200));
  }
}

MultipartBuilder::MultipartBuilder(std::string boundary) : boundary_(std::move(boundary)) {}

MultipartBuilder& MultipartBuilder::Field(std::string_view name, std::string_view value) {
  parts_ += "--" + boundary_ + "\r\nContent-Disposition: form-data; name=" + QuoteParam(name) + "\r\n\r\n";
  parts_.append(value);
  parts_ += "\r\n";
  return *this;
}

MultipartBuilder& MultipartBuilder::File(std::string_view name, std::string_view filename, std::string_view content_type,
                                         std::string_view data) {
  parts_ += "--" + boundary_ + "\r\nContent-Disposition: form-data; name=" + QuoteParam(name) +
            "; filename=" + QuoteParam(filename) + "\r\nContent-Type: " + std::string(content_type) + "\r\n\r\n";
  parts_.append(data);
  parts_ += "\r\n";
  return *this;
}

std::string MultipartBuilder::ContentType() const { return "multipart/form-data; boundary=" + boundary_; }

std::string MultipartBuilder::Body() const { return parts_ + "--" + boundary_ + "--\r\n"; }

struct HttpClient::Impl {
  Impl(std::string host, std::uint16_t port, std::chrono::milliseconds timeout, std::string source)
      : conn(std::move(host), port, timeout, std::move(source)) {}
  Conn conn;
  std::string host_header;
};

HttpClient::HttpClient(std::string host, std::uint16_t port, std::chrono::milliseconds timeout, std::string source)
    : impl_(std::make_unique<Impl>(host, port, timeout, std::move(source))) {
  impl_->host_header = host + ":" + std::to_string(port);
}

HttpClient::~HttpClient() = default;

HttpResponse HttpClient::Request(std::string_view method, std::string_view target, std::string_view body,
                                 const HeaderList& headers) {
  bhttp::request<bhttp::string_body> req;
  req.method_string(beast::string_view(method.data(), method.size()));
  req.target(beast::string_view(target.data(), target.size()));
  req.version(11);
  req.set(bhttp::field::host, impl_->host_header);
  req.set(bhttp::field::user_agent, "stego-testsupport");
  for (const auto& [name, value] : headers) {
    // A Host given replaces the default one (a reverse proxy routes by it); others add.
    if (beast::iequals(name, "Host")) {
      req.set(bhttp::field::host, value);
    } else {
      req.insert(name, value);
    }
  }
  req.body() = std::string(body);
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") req.prepare_payload();
  const bool head = method == "HEAD";

  // A kept-alive connection the server has closed in the meantime fails on first use; one retry
  // on a fresh connection covers that race.
  for (int attempt = 0;; ++attempt) {
    const bool reused = impl_->conn.is_open();
    if (!reused) impl_->conn.Connect();
    auto ec = impl_->conn.WriteRequest(req);
    if (!ec) {
      try {
        HttpResponse r = ReadOneResponse(impl_->conn, head);
        const auto connection = r.Header("Connection");
        if ((connection && http::EqualsIgnoreCase(*connection, "close")) || r.version == 10) impl_->conn.Close();
        return r;
      } catch (const std::runtime_error&) {
        impl_->conn.Close();
        if (!reused || attempt > 0) throw;
        continue;
      }
    }
    impl_->conn.Close();
    if (!reused || attempt > 0) throw std::runtime_error("sending a request to " + impl_->conn.where() + ": " + ec.message());
  }
}

HttpResponse HttpClient::Get(std::string_view target, const HeaderList& headers) {
  return Request("GET", target, {}, headers);
}

HttpResponse HttpClient::Post(std::string_view target, std::string_view body, std::string_view content_type,
                              const HeaderList& headers) {
  HeaderList all = headers;
  all.emplace_back("Content-Type", std::string(content_type));
  return Request("POST", target, body, all);
}

HttpResponse HttpClient::PostMultipart(std::string_view target, const MultipartBuilder& form, const HeaderList& headers) {
  return Post(target, form.Body(), form.ContentType(), headers);
}

void HttpClient::Close() { impl_->conn.Close(); }

int HttpClient::connections_opened() const { return impl_->conn.opened(); }

struct RawConnection::Impl {
  Impl(std::string host, std::uint16_t port, std::chrono::milliseconds timeout, std::string source)
      : conn(std::move(host), port, timeout, std::move(source)) {}
  Conn conn;
};

RawConnection::RawConnection(std::string host, std::uint16_t port, std::chrono::milliseconds timeout,
                             std::string source)
    : impl_(std::make_unique<Impl>(std::move(host), port, timeout, std::move(source))) {
  impl_->conn.Connect();
}

RawConnection::~RawConnection() = default;

void RawConnection::Send(std::string_view bytes) {
  if (auto ec = impl_->conn.Write(bytes)) throw std::runtime_error("raw send: " + ec.message());
}

bool RawConnection::TrySend(std::string_view bytes) { return !impl_->conn.Write(bytes); }

std::string RawConnection::ReadUntil(std::string_view delimiter) {
  auto& buf = impl_->conn.buffer();
  while (true) {
    const std::string_view have(static_cast<const char*>(buf.data().data()), buf.size());
    if (const std::size_t at = have.find(delimiter); at != std::string_view::npos) {
      std::string out(have.substr(0, at + delimiter.size()));
      buf.consume(out.size());
      return out;
    }
    if (auto ec = impl_->conn.ReadSome()) {
      throw std::runtime_error("raw read until '" + std::string(delimiter) + "': " + ec.message() + "; got: " +
                               std::string(have.substr(0, 300)));
    }
  }
}

HttpResponse RawConnection::ReadResponse(bool head_request) {
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  if (head_request) parser.skip(true);
  if (auto ec = impl_->conn.ReadResponse(parser)) throw std::runtime_error("raw read response: " + ec.message());
  return ToResponse(parser.release());
}

bool RawConnection::WaitClosed(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    impl_->conn.SetTimeout(left);
    const auto ec = impl_->conn.ReadSome();
    impl_->conn.buffer().clear();
    if (ec == beast::error::timeout) return false;
    if (ec) return true;  // eof, reset
  }
}

void RawConnection::SetTimeout(std::chrono::milliseconds timeout) { impl_->conn.SetTimeout(timeout); }

}  // namespace testsupport
