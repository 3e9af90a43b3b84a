#include "app/service_notify.h"

#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>

#include <fmt/format.h>

namespace petrel::app {

ServiceNotifier::ServiceNotifier() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  active_ = socket && *socket;
  uint64_t usec = 0;
  // unset_environment 0: a child (none today) could still tell the manager itself.
  if (active_ && sd_watchdog_enabled(0, &usec) > 0) watchdog_ = std::chrono::microseconds(usec);
}

void ServiceNotifier::send(const std::string& state) {
  if (active_) sd_notify(0, state.c_str());
}

void ServiceNotifier::ready(const std::string& status) {
  ready_ = true;
  last_status_ = status;
  send(fmt::format("READY=1\nSTATUS={}\nMAINPID={}", status, ::getpid()));
}

void ServiceNotifier::status(const std::string& status) {
  if (!active_ || !ready_ || status == last_status_) return;  // READY carries the first
  last_status_ = status;
  send("STATUS=" + status);
}

void ServiceNotifier::reloading() {
  // MONOTONIC_USEC lets systemd 253+ (Type=notify-reload) match this to its reload; older
  // managers ignore it.
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const uint64_t usec = uint64_t(ts.tv_sec) * 1'000'000u + uint64_t(ts.tv_nsec) / 1000u;
  send(fmt::format("RELOADING=1\nSTATUS=Reloading the configuration\nMONOTONIC_USEC={}", usec));
}

void ServiceNotifier::reloaded(const std::string& status) {
  last_status_ = status;
  send("READY=1\nSTATUS=" + status);
}

void ServiceNotifier::stopping() { send("STOPPING=1\nSTATUS=Stopping"); }

void ServiceNotifier::watchdog() { send("WATCHDOG=1"); }

}  // namespace petrel::app
