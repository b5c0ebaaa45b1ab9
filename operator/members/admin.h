// The members' admin API as the operator uses it to scale a cluster (and, later, to roll it): a
// leadership transfer and the removal of a member, both asked of the leader, and the drain of the
// member that goes, all with the admin key from the cluster's Secret. The workers answer each once it has taken effect on the leader
// (docs/cluster.md, "Endpoints").
#pragma once

#include <chrono>
#include <string>

#include "common/expected.h"
#include "operator/kube/transport.h"

namespace stegocluster::members {

// One call to the member at `ip`:`port` with the admin key: its answer (any status), or why none came.
common::Expected<kube::HttpResponse, std::string> CallMember(const std::string& ip, int port,
                                                             const std::string& admin_key,
                                                             const kube::HttpRequest& request,
                                                             std::chrono::milliseconds timeout);

// POST /admin/transfer-leadership {"target": target} on the leader at `ip`; succeeds once `target` leads.
common::Expected<void, std::string> TransferLeadership(const std::string& ip, int port, const std::string& admin_key,
                                                       const std::string& target, std::chrono::milliseconds timeout);

// POST /admin/drain on the member at `ip`: it turns unready for good and serves on (docs/cluster.md).
common::Expected<void, std::string> Drain(const std::string& ip, int port, const std::string& admin_key,
                                          std::chrono::milliseconds timeout);

// POST /admin/members {"action": "remove", "name": member} on the leader at `ip`; succeeds once the
// leader has applied the new configuration, and when `member` is no member already.
common::Expected<void, std::string> RemoveMember(const std::string& ip, int port, const std::string& admin_key,
                                                 const std::string& member, std::chrono::milliseconds timeout);

}  // namespace stegocluster::members
