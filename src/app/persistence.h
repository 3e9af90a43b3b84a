#pragma once
// The durable store seen from the petrel command: opening it at startup with the words an
// operator needs when that fails (a Mosquitto file where Petrel's store should be), the
// checks of `--test-config`, and the store commands of the command line:
//   petrel -c CONF --import-mosquitto FILE   Mosquitto 2.0/2.1 persistence into the store
//   petrel --persistence-check [FILE]        is the store sound? (FILE: the config's store)
//   petrel --persistence-recover [FILE]      move a damaged store aside, keep what is readable
// Each command prints what it did (or one line saying why not) and returns the exit
// status: 0 done, 1 not.
#include <memory>
#include <string>
#include <vector>

#include "app/options.h"
#include "common/log.h"
#include "common/result.h"
#include "config/config.h"
#include "persist/sqlite_store.h"

namespace petrel::app {

// Opens (creating when missing) the store that `p` names, with p's sync mode. The error is
// the store's message as is, plus a hint when the file is Mosquitto's or not a Petrel
// store (import it with --import-mosquitto instead; `config_path` goes into that hint).
Result<std::unique_ptr<persist::SqliteStore>> open_store(const config::PersistenceSettings& p, Logger* log,
                                                         const std::string& config_path);

// When the store file at `store_path` does not exist yet but Mosquitto's mosquitto.db or
// mosquitto.sqlite3 sits in the same directory: a notice saying that Petrel does not read
// it by itself and how to import it. Empty otherwise.
std::string mosquitto_file_notice(const std::string& store_path, const std::string& config_path);

// --test-config: what would stop the store from opening at startup, checked without
// creating or opening anything (a running petrel holds the file locked): the directory
// missing, not a directory or not writable; the file not a regular file, or Mosquitto's.
std::vector<std::string> check_persistence_paths(const config::PersistenceSettings& p,
                                                 const std::string& config_path);

int import_mosquitto_command(const CommandLine& cl, const std::string& config_path, Logger& log);
int persistence_check_command(const CommandLine& cl, const std::string& config_path, Logger& log);
int persistence_recover_command(const CommandLine& cl, const std::string& config_path, Logger& log);

}  // namespace petrel::app
