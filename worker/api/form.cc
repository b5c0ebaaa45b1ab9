#include "worker/api/form.h"

#include <algorithm>
#include <charconv>

#include "worker/api/errors.h"

namespace api {

Answer<Form> Form::Parse(const http::Request& request, std::initializer_list<std::string_view> fields,
                         const http::MultipartLimits& limits) {
  Form form;
  // No multipart body is empty (it has at least its close delimiter): an empty body is no fields.
  if (request.body.empty()) return form;
  auto parsed = http::ParseMultipart(request.Header("Content-Type").value_or(""), request.body, limits);
  if (!parsed) return common::Unexpected{ErrorResponse(request, parsed.error())};
  form.form_ = std::move(*parsed);
  for (const auto& part : form.form_.parts) {
    if (std::find(fields.begin(), fields.end(), part.name) == fields.end()) {
      std::string known;
      for (auto f : fields) known += (known.empty() ? "" : ", ") + std::string(f);
      return common::Unexpected{BadParameter(request, part.name, "unknown field; this endpoint takes: " + known)};
    }
    if (form.Get(part.name) != &part) {
      return common::Unexpected{BadParameter(request, part.name, "field given more than once")};
    }
  }
  return form;
}

std::optional<std::string_view> Form::Text(std::string_view name) const {
  const auto* part = Get(name);
  if (!part) return std::nullopt;
  return std::string_view(part->data);
}

Answer<int> Form::Int(const http::Request& request, std::string_view name, int min, int max, int fallback) const {
  const auto text = Text(name);
  if (!text) return fallback;
  int value = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size() || value < min || value > max) {
    return common::Unexpected{BadParameter(request, name,
                                           "must be an integer from " + std::to_string(min) + " to " +
                                               std::to_string(max) + ", got '" + std::string(text->substr(0, 32)) + "'")};
  }
  return value;
}

}  // namespace api
