#include "cli/multipart.h"

#include <random>

namespace stegoctl {
namespace {

// A name or filename inside a quoted header parameter: quotes and line breaks would end it early.
std::string Quoted(std::string_view text) {
  std::string out;
  for (char c : text) out += (c == '"' || c == '\r' || c == '\n') ? '_' : c;
  return out;
}

}  // namespace

// A random boundary: a payload that happens to contain it is, in practice, impossible.
MultipartForm::MultipartForm() {
  std::mt19937_64 random{std::random_device{}()};
  boundary_ = "stegoctl-" + std::to_string(random()) + std::to_string(random());
}

MultipartForm& MultipartForm::Field(std::string_view name, std::string_view value) {
  body_ += "--" + boundary_ + "\r\nContent-Disposition: form-data; name=\"" + Quoted(name) + "\"\r\n\r\n";
  body_ += value;
  body_ += "\r\n";
  return *this;
}

MultipartForm& MultipartForm::File(std::string_view name, std::string_view filename, std::string_view content_type,
                                   std::string_view bytes) {
  body_ += "--" + boundary_ + "\r\nContent-Disposition: form-data; name=\"" + Quoted(name) + "\"; filename=\"" +
           Quoted(filename) + "\"\r\nContent-Type: " + std::string(content_type) + "\r\n\r\n";
  body_ += bytes;
  body_ += "\r\n";
  return *this;
}

}  // namespace stegoctl
