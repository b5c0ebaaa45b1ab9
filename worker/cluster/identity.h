// A member's identity: its Raft id, drawn at random the first time its data directory is used and
// kept there in the file `identity` beside the member's name (member.h says why the id is not
// derived from the name).
#pragma once

#include <filesystem>
#include <string>

#include "common/expected.h"
#include "worker/cluster/error.h"
#include "worker/raft/types.h"

namespace cluster {

// The id kept in `dir`, or a new one written there durably. Refuses (kCannotStart) a damaged
// file, one that names another member, and Raft state without an identity beside it.
common::Expected<raft::NodeId, Error> LoadOrCreateIdentity(const std::filesystem::path& dir, const std::string& name);

}  // namespace cluster
