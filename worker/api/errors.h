// How engine and form errors become HTTP answers: one status per error code, the JSON shape of
// http::Response::Error, and the engine's byte counts as extra fields where it has them.
#pragma once

#include "common/expected.h"
#include "worker/http/multipart.h"
#include "worker/http/request.h"
#include "worker/http/response.h"
#include "worker/stego/error.h"

namespace api {

// An api-internal result whose error is already the HTTP answer to send: a step that refuses
// (form reading, a cover lookup, a commit) has said why, and its caller only returns it.
template <class T>
using Answer = common::Expected<T, http::Response>;

// 400 bad option, 413 too large / over capacity, 415 not an image we read, 422 the image carries
// no readable payload (no payload, damaged, wrong password), 500 a library failed.
int HttpStatusOf(stego::ErrorCode code);

http::Response ErrorResponse(const http::Request& request, const stego::Error& error);
http::Response ErrorResponse(const http::Request& request, const http::MultipartError& error);

// 503 not_clustered: what a standalone worker (no --peer) answers on the routes that need the
// replicated state.
http::Response NotClustered(const http::Request& request);

// 400 invalid_parameter naming the field.
http::Response BadParameter(const http::Request& request, std::string_view field, std::string_view detail);

}  // namespace api
