// A minimal program serving the HTTP layer, used by the tests of ProcessUnderTest and as the model
// of how a binary wires the server: log "listening on <host>:<port>" once bound, turn SIGTERM/SIGINT
// into Server::Stop() from a signal-watching thread, Join(), exit 0.
#include <signal.h>

#include <cstdlib>
#include <string>
#include <thread>

#include <spdlog/spdlog.h>

#include "common/metrics.h"
#include "worker/http/server.h"

int main(int argc, char** argv) {
  // Block the stop signals before any thread starts, so only sigwait() below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  http::ServerOptions options;
  options.host = argc > 1 ? argv[1] : "127.0.0.1";
  options.port = static_cast<std::uint16_t>(argc > 2 ? std::atoi(argv[2]) : 0);
  options.compute_threads = 2;

  common::Metrics metrics;
  http::Router router;
  router.Add("GET", "/healthz", [](http::Request&) { return http::Response::Text(200, "ok"); }, {.name = "healthz"});
  router.Add("GET", "/metrics",
             [&metrics](http::Request&) {
               return http::Response::Text(200, metrics.Render(), std::string(common::kPrometheusContentType));
             },
             {.name = "metrics"});
  router.Add("POST", "/echo", [](http::Request& req) { return http::Response::Bytes(200, "application/octet-stream", req.body); },
             {.name = "echo", .compute = true});

  http::Server server(options, router, metrics);
  auto port = server.Start();
  if (!port) {
    spdlog::error("{}", port.error());
    return 1;
  }
  spdlog::info("listening on {}:{}", options.host, *port);

  std::thread watcher([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    spdlog::info("signal {}: stopping", sig);
    server.Stop();
  });
  server.Join();
  watcher.join();
  spdlog::info("stopped");
  return 0;
}
