#pragma once
// What `petrel --persistence-check PATH` and `petrel --persistence-recover PATH` do, as
// library calls that return a report (the app prints report.text() and sets the exit code).
#include <string>
#include <vector>

#include "common/result.h"
#include "persist/sqlite_store.h"

namespace petrel::persist {

struct CheckReport {
  bool ok = false;                      // a Petrel store that opens and passes quick_check
  std::string problem;                  // why not ("" when ok)
  std::vector<std::string> quick_check; // its lines when it ran (["ok"] when sound)
  TableCounts counts;                   // rows per table (-1: unreadable or not a store)
  std::string text() const;             // the report for an operator, several lines
};

// Reads without changing anything the store holds (a WAL left by a crash is applied, as
// any open does). A file in use by a running petrel is reported as such.
CheckReport check_store_file(const std::string& path);

struct RecoverReport {
  std::string moved_to;                 // PATH.damaged-<UTC timestamp> (with -wal, -shm)
  TableCounts found;                    // what the damaged file's counts said (-1: unreadable)
  TableCounts kept;                     // rows in the new store
  std::vector<std::string> problems;    // what could not be read, per table
  std::string text() const;
};

// Moves the file at `path` (and its -wal, -shm) aside to PATH.damaged-<timestamp>, creates
// a fresh store at `path` and copies into it every row of the damaged one that is still
// readable (and consistent: outgoing records whose message or session is lost are dropped).
// Fails without moving anything when `path` does not exist or its directory is unusable.
Result<RecoverReport> recover_store_file(const std::string& path, StoreOptions options = {});

}  // namespace petrel::persist
