// Error<Code>: the one shape of an error that crosses a module boundary — a code the caller can
// switch on (each module has its own Code enum and a CodeName function giving the stable
// snake_case name APIs and logs use) and a message for humans that says what failed and why.
//
//   namespace raft { using Error = common::Error<ErrorCode>; }
//   return common::Fail(ErrorCode::kTimeout, "no answer within 5 s");
#pragma once

#include <string>
#include <utility>

#include "common/expected.h"

namespace common {

template <class Code>
struct Error {
  Code code{};
  std::string message;

  friend bool operator==(const Error&, const Error&) = default;
};

template <class Code>
Unexpected<Error<Code>> Fail(Code code, std::string message) {
  return Unexpected<Error<Code>>{Error<Code>{code, std::move(message)}};
}

}  // namespace common
