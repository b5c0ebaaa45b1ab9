// The worker pod's preStop hook, run as `stego-worker --pre-stop` inside the container (the image
// has no shell and no curl). It reads the same flags and environment as the worker (STEGO_HTTP,
// STEGO_ADMIN_KEY, STEGO_DRAIN_MS) and:
//   1. asks the worker to drain (POST /admin/drain): it hands leadership over if it leads and
//      turns unready for good, so Kubernetes takes it out of the Services' endpoints;
//   2. waits --drain-ms while the worker keeps serving and forwarding, so that what was already
//      routed here (kube-proxy, the Ingress controller) still gets answered;
//   3. exits, and the kubelet sends SIGTERM: the worker stops accepting, finishes in-flight work
//      and exits.
// Bounded: at most kDrainCallTimeout plus --drain-ms, whatever the worker answers, so a hung
// worker never holds its pod in Terminating for the whole grace period. A worker that cannot be
// reached is waited for all the same (it may be busy, and is about to get SIGTERM anyway).
#pragma once

#include <chrono>

#include "worker/app/config.h"

namespace worker {

inline constexpr std::chrono::seconds kDrainCallTimeout{5};

// The process's exit code: 0 when the worker confirmed the drain, 1 otherwise (the kubelet only
// records a failed hook as an event; termination goes on).
int RunPreStop(const WorkerConfig& config);

}  // namespace worker
