// Form: the multipart/form-data body of an API call, checked against the fields the endpoint
// takes. Unknown or repeated fields are refused (a typo such as "lsb_bit" must not be ignored
// silently), and every refusal is already the HTTP answer to send.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "worker/api/errors.h"
#include "worker/http/multipart.h"
#include "worker/http/request.h"
#include "worker/http/response.h"

namespace api {

// A field's (or any string's) bytes, as the engine takes them.
inline std::span<const std::uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

class Form {
 public:
  // An empty body is an empty form (every field absent).
  static Answer<Form> Parse(const http::Request& request, std::initializer_list<std::string_view> fields,
                            const http::MultipartLimits& limits);

  const http::MultipartPart* Get(std::string_view name) const { return form_.Find(name); }
  // A field's text, or nullopt when absent.
  std::optional<std::string_view> Text(std::string_view name) const;
  // An integer field within [min, max]; `fallback` when absent.
  Answer<int> Int(const http::Request& request, std::string_view name, int min, int max, int fallback) const;

 private:
  http::MultipartForm form_;
};

}  // namespace api
