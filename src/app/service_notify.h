// The systemd service protocol (sd_notify, from Debian's libsystemd): READY once clients
// are accepted, STATUS with what the broker is doing, WATCHDOG while every worker turns,
// RELOADING around a SIGHUP and STOPPING at the end. Outside systemd (no NOTIFY_SOCKET)
// every call does nothing.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace petrel::app {

class ServiceNotifier {
 public:
  ServiceNotifier();
  // True when a service manager listens (NOTIFY_SOCKET is set).
  bool active() const { return active_; }
  void ready(const std::string& status);
  // Sent only when it differs from the last status sent.
  void status(const std::string& status);
  void reloading();
  void reloaded(const std::string& status);  // READY=1 again, after a reload
  void stopping();
  void watchdog();
  // The watchdog interval the unit asks for (WatchdogSec=), zero when there is none.
  std::chrono::microseconds watchdog_interval() const { return watchdog_; }

 private:
  void send(const std::string& state);
  bool active_ = false;
  bool ready_ = false;
  std::chrono::microseconds watchdog_{0};
  std::string last_status_;
};

}  // namespace petrel::app
