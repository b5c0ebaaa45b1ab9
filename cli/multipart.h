// A multipart/form-data body (RFC 7578) for the API's embed, extract, capacity and cover uploads.
#pragma once

#include <string>
#include <string_view>

namespace stegoctl {

class MultipartForm {
 public:
  MultipartForm();
  MultipartForm& Field(std::string_view name, std::string_view value);
  MultipartForm& File(std::string_view name, std::string_view filename, std::string_view content_type,
                      std::string_view bytes);
  // The body, closed with the final boundary.
  std::string Body() const { return body_ + "--" + boundary_ + "--\r\n"; }
  std::string ContentType() const { return "multipart/form-data; boundary=" + boundary_; }

 private:
  std::string boundary_;
  std::string body_;
};

}  // namespace stegoctl
