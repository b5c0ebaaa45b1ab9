// Whether a live object already holds what the operator would apply, so that a converged cluster
// costs no write at all. Pure.
#pragma once

#include <nlohmann/json.hpp>

namespace stegocluster::controller {

// True when every field of `desired` is in `live` with the same value: objects field by field
// (live may hold more: defaults, other managers' fields, status), arrays element by element with
// the same length, scalars equal (numbers by value). The API server fills defaults in but never
// drops or rewrites a field we set, except by normalising values (a quantity "0.5" reads "500m"):
// such a field only costs one server-side apply that changes nothing.
bool Covers(const nlohmann::json& live, const nlohmann::json& desired);

}  // namespace stegocluster::controller
