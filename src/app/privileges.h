// Dropping root privileges (mosquitto.conf's `user`), with Mosquitto's rules: started as
// root, petrel opens its listeners and reads its certificates and keys, then becomes
// `user` (default `mosquitto`, and `nobody` when no such user exists; `user root` stays
// root; a named user that does not exist is an error). Petrel's embedded default (no
// configuration file, loopback only, its state under the starting user) keeps the user
// that started it unless its saved configuration names one.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "config/config.h"

namespace petrel::app {

struct PrivilegeDrop {
  bool dropped = false;
  std::string user;                // who petrel runs as afterwards
  std::vector<std::string> notes;  // for the log (warnings and what happened)
};

// Drops privileges when the process runs as root and `cfg` asks for it. from_file: the
// configuration came from a file given with -c (the embedded default and the admin's
// saved copy of it only drop when they name a user). Everything petrel opened stays open.
// Before the switch, the files petrel opened for writing (the log file) are handed to the
// user, so SIGHUP can reopen them.
Result<PrivilegeDrop> drop_privileges(const config::Config& cfg, bool from_file, const std::string& config_path);

// The files petrel reads or writes again while running (the configuration on SIGHUP,
// password/ACL/PSK files, certificates and keys on reload, bridge TLS files on every
// connection, the persistence directory, the log file's directory), checked with the
// access the current user has: one error per file it cannot use, naming the file and
// what needs it (a warning for a log directory, where only log rotation needs it).
struct RuntimeFileCheck {
  std::vector<std::string> errors, warnings;
};
RuntimeFileCheck check_runtime_files(const config::Config& cfg, const std::string& config_path,
                                     const std::string& user);

}  // namespace petrel::app
