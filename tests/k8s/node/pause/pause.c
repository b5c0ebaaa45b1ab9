/* The test node's sandbox ("pause") process: PID 1 of each pod's sandbox.
 * It holds the pod's namespaces, reaps the orphans that end up under it, and
 * exits on SIGINT or SIGTERM. Built static, it is the only file of the
 * node's pause image (tests/k8s/node/build.sh). */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_stop(int sig) { _exit(128 + sig); }

static void on_child(int sig) {
  (void)sig;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

int main(void) {
  sigset_t blocked;
  sigfillset(&blocked);
  sigdelset(&blocked, SIGINT);
  sigdelset(&blocked, SIGTERM);
  sigdelset(&blocked, SIGCHLD);
  sigprocmask(SIG_SETMASK, &blocked, NULL);

  struct sigaction stop = {.sa_handler = on_stop};
  struct sigaction child = {.sa_handler = on_child, .sa_flags = SA_NOCLDSTOP | SA_RESTART};
  if (sigaction(SIGINT, &stop, NULL) != 0 || sigaction(SIGTERM, &stop, NULL) != 0 ||
      sigaction(SIGCHLD, &child, NULL) != 0) {
    return EXIT_FAILURE;
  }
  for (;;) {
    pause();
  }
}
