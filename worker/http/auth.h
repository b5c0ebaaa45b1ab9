// Bearer-token checks shared by every authenticated route family (admin endpoints, Raft peers).
#pragma once

#include <optional>
#include <string_view>

#include "worker/http/request.h"

namespace http {

// The token of an `Authorization: Bearer <token>` header, or nullopt when there is none.
std::optional<std::string_view> BearerToken(const Request& request);

// Compares SHA-256 digests in constant time, not the strings, so the time taken says nothing about
// the secret's length or any shared prefix.
bool SameSecret(std::string_view given, std::string_view expected);

}  // namespace http
