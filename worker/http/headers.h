// Headers: an ordered list of HTTP header fields with case-insensitive name lookup.
//
// Field names compare case-insensitively (RFC 9110 §5.1); values are kept as received. Order and
// repeated fields are preserved, because some fields (Set-Cookie) may legitimately repeat.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace http {

// `s` without the optional whitespace (spaces, tabs) around it that HTTP allows in field values.
std::string_view TrimWhitespace(std::string_view s);

bool EqualsIgnoreCase(std::string_view a, std::string_view b);

class Headers {
 public:
  using Field = std::pair<std::string, std::string>;

  // Appends a field, keeping any existing one of the same name.
  void Add(std::string name, std::string value);
  // Replaces every field of that name by one.
  void Set(std::string name, std::string value);
  void Remove(std::string_view name);

  // The first field of that name.
  std::optional<std::string_view> Get(std::string_view name) const;
  bool Has(std::string_view name) const { return Get(name).has_value(); }

  const std::vector<Field>& fields() const { return fields_; }
  bool empty() const { return fields_.empty(); }

 private:
  std::vector<Field> fields_;
};

}  // namespace http
