#pragma once
// Reads what a Mosquitto broker persisted (retained messages, persistent sessions with their
// subscriptions and queued / in-flight messages) into Petrel's neutral model, so that a
// Mosquitto installation can move to Petrel without losing state. Two formats, told apart by
// their content, never by the file name:
//   - Mosquitto 2.0's `mosquitto.db` (chunked binary, format version 6);
//   - Mosquitto 2.1's persist-sqlite plugin database (`mosquitto.sqlite3`, schema 1.0/1.1).
// All or nothing: a file that is damaged, truncated, of an unknown version or not Mosquitto's
// gives an ImportError and no partial Snapshot. The file is never modified, and nothing is
// created beside it. See docs/persistence-import.md for what is read and what is not.
#include <cstdint>
#include <string>
#include <variant>

#include "persist/model.h"

namespace petrel::persist {

struct ImportError {
  std::string file;     // the path as given
  std::string message;  // starts with the path: "<file>: <what is wrong>"
};

// now_wall_s: the current time in unix seconds. Messages whose Message Expiry has passed by
// then are left out (as Mosquitto itself drops them when it loads), and the remaining
// interval of the others becomes their expiry_interval.
std::variant<Snapshot, ImportError> import_mosquitto(const std::string& path, int64_t now_wall_s);

}  // namespace petrel::persist
