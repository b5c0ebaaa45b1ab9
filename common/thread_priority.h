// The calling thread's CPU priority (nice value). On Linux the nice value belongs to each thread
// (setpriority(2) with PRIO_PROCESS and a thread id), so one thread can be lowered alone. Raising
// the nice value (lowering the priority) needs no privilege; lowering it back does, so callers
// treat a lowered thread as lowered for good.
#pragma once

namespace common {

// The calling thread's nice value (0 if it cannot be read).
int CurrentThreadNice();

// Sets the calling thread's nice value to `nice` when that is higher than the current one.
// Returns false when the system refused.
bool RaiseCurrentThreadNice(int nice);

}  // namespace common
