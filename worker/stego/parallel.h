// Runs a batch of independent tasks on all cores, for the engine's data-parallel steps (PNG bands).
//
// A small process-wide pool (one thread fewer than the cores) works together with the calling thread:
// every participant claims the next task index from an atomic counter until none are left. Because
// the caller claims tasks too, a batch finishes even when every pool thread is busy elsewhere, so
// ParallelFor is safe to call from inside another bounded pool (the worker's request pool) and can
// never deadlock; at worst it runs on the calling thread alone. A pool thread never helps at a
// higher CPU priority than the caller: it adopts the caller's nice value when that is lower
// (docs/raft.md, "Liveness under CPU load").
#pragma once

#include <cstddef>
#include <functional>

namespace stego {

// Threads that may run one batch at once: the pool plus the caller, i.e. the cores.
int ParallelismDegree();

// Calls task(i) for every i in [0, count) and returns when all calls have finished. Tasks run
// concurrently and must not throw.
void ParallelFor(size_t count, const std::function<void(size_t)>& task);

}  // namespace stego
