#include "operator/app/options.h"

#include <sstream>

#include <boost/program_options.hpp>

namespace stegocluster::app {
namespace po = boost::program_options;

Parsed ParseOptions(const std::vector<std::string>& args) {
  Options o;
  std::string http = "0.0.0.0:8080";
  long lease_ms = o.lease_duration.count(), renew_ms = o.renew_deadline.count(), retry_ms = o.retry_period.count();
  long poll_ms = o.controller.member_poll_interval.count(), poll_timeout_ms = o.controller.member_poll_timeout.count();
  po::options_description d("stego-operator options");
  d.add_options()
      ("help,h", "show this help")
      ("version", "print the version")
      ("kubeconfig", po::value(&o.kubeconfig), "kubeconfig file (default: $KUBECONFIG, else in-cluster, else ~/.kube/config)")
      ("namespace", po::value(&o.controller.ns), "watch StegoClusters in this namespace only (default: all)")
      ("http", po::value(&http)->default_value(http), "address of /healthz, /readyz and /metrics (host:port)")
      ("leader-elect", po::value(&o.leader_elect)->default_value(o.leader_elect),
       "take a Lease before reconciling, so that only one of several replicas acts")
      ("lease-namespace", po::value(&o.lease_namespace), "namespace of the Lease (default: the pod's, else default)")
      ("lease-name", po::value(&o.lease_name)->default_value(o.lease_name), "name of the Lease")
      ("identity", po::value(&o.identity), "this replica's name in the Lease (default: host name and a random suffix)")
      ("lease-duration-ms", po::value(&lease_ms)->default_value(lease_ms), "how long a silent leader keeps the Lease")
      ("renew-deadline-ms", po::value(&renew_ms)->default_value(renew_ms), "a leader that cannot renew for this long stops")
      ("retry-period-ms", po::value(&retry_ms)->default_value(retry_ms), "how often the Lease is renewed or tried")
      ("workers", po::value(&o.controller.workers)->default_value(o.controller.workers), "clusters reconciled at once")
      ("member-poll-ms", po::value(&poll_ms)->default_value(poll_ms), "how often each member's Raft view is read")
      ("member-timeout-ms", po::value(&poll_timeout_ms)->default_value(poll_timeout_ms),
       "how long a member may take to answer before it counts as unreachable")
      ("log-format", po::value(&o.log_format)->default_value(o.log_format), "text or json")
      ("log-level", po::value(&o.log_level)->default_value(o.log_level), "trace, debug, info, warn, error");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(d).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return {.exit = true, .exit_code = 2, .text = std::string("stego-operator: ") + e.what() + "\n"};
  }
  if (vm.count("help")) {
    std::ostringstream out;
    out << d;
    return {.exit = true, .text = out.str()};
  }
  if (vm.count("version")) return {.exit = true, .text = "stego-operator " STEGO_VERSION "\n"};
  auto refuse = [](const std::string& why) { return Parsed{.exit = true, .exit_code = 2, .text = "stego-operator: " + why + "\n"}; };
  if (o.log_format != "json" && o.log_format != "text") return refuse("--log-format: text or json");
  auto address = common::ParseHostPort(http);
  if (!address) return refuse("--http: " + address.error());
  o.http = *address;
  if (o.controller.workers < 1 || o.controller.workers > 64) return refuse("--workers: 1 to 64");
  if (poll_ms < 10 || poll_timeout_ms < 10) return refuse("--member-poll-ms and --member-timeout-ms: at least 10");
  if (!(retry_ms > 0 && retry_ms < renew_ms && renew_ms < lease_ms)) {
    return refuse("need 0 < --retry-period-ms < --renew-deadline-ms < --lease-duration-ms");
  }
  o.lease_duration = std::chrono::milliseconds(lease_ms);
  o.renew_deadline = std::chrono::milliseconds(renew_ms);
  o.retry_period = std::chrono::milliseconds(retry_ms);
  o.controller.member_poll_interval = std::chrono::milliseconds(poll_ms);
  o.controller.member_poll_timeout = std::chrono::milliseconds(poll_timeout_ms);
  return {.options = std::move(o)};
}

}  // namespace stegocluster::app
