// Membership changes, one server at a time (Raft dissertation §4.1-4.3).
//
// A change is validated against the configuration in effect (the latest configuration entry in the
// log, committed or not) and produces the full next configuration, which travels inside the log
// entry. Each server switches to a configuration as soon as the entry is in its log (§4.1), and
// falls back to the previous one if that entry is truncated away.
#pragma once

#include <string>
#include <string_view>

#include "worker/raft/types.h"

namespace raft {

// The configuration after applying `cc` to `current`, or why it cannot apply:
//   kAddLearner: node must not be in the configuration.
//   kPromote:    node must be a learner.
//   kRemove:     node must be in the configuration, and a voter may not be the last voter.
//   kBootstrap:  only valid on an empty configuration; makes `node` the single voter. (Clusters
//                with several initial voters are bootstrapped with BootstrapConfEntry instead.)
Result<ConfState> NextConfState(const ConfState& current, const ConfChange& cc);

// Well-formed: sorted, unique, voters and learners disjoint, no kNone.
bool IsValidConfState(const ConfState& cs);

// Payload of a kConfChange entry. The encoding is versioned; Decode rejects anything malformed
// rather than guessing, because two servers that read one entry differently would disagree on
// membership.
std::string EncodeConfEntry(const ConfEntry& ce);
Result<ConfEntry> DecodeConfEntry(std::string_view data);

// The first log entry of a brand-new cluster: index 1, term 1, configuration `initial`. Every
// initial member writes the identical entry (and HardState{term 1, commit 1}) before starting, so
// their logs agree from the start (see Bootstrap in rawnode.h). `context` travels as the change's
// context (e.g. the first member's addresses), so it must be identical on every initial member.
Entry BootstrapConfEntry(const ConfState& initial, std::string context = {});

}  // namespace raft
