#include "common/thread_priority.h"

#include <cerrno>

#include <sys/resource.h>
#include <unistd.h>

namespace common {

int CurrentThreadNice() {
  errno = 0;  // -1 is a valid nice value; only errno tells a failure
  const int nice = getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
  return nice == -1 && errno != 0 ? 0 : nice;
}

bool RaiseCurrentThreadNice(int nice) {
  if (nice <= CurrentThreadNice()) return true;
  return setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), nice) == 0;
}

}  // namespace common
