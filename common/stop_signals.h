// A process's stop signals (SIGINT, SIGTERM) taken by one thread's sigwait instead of a handler:
// block them before any thread exists, so every thread inherits the mask and no async-signal-safety
// puzzle arises. SIGPIPE is ignored too (a peer closing a socket is an error to handle, not a
// reason to die).
#pragma once

#include <csignal>

namespace common {

// Call first in main(); returns the set to pass to sigwait.
sigset_t BlockStopSignals();

}  // namespace common
