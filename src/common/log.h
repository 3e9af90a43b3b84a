#pragma once
// Logger: mosquitto.conf's log_type levels and log_dest destinations. One instance is
// owned by the app and passed by reference; the level check is a relaxed atomic load so
// a disabled level costs nothing (PETREL_LOG checks before formatting).
#include <fmt/format.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <vector>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

namespace petrel {

enum LogLevel : uint32_t {
  kLogNone = 0,
  kLogError = 1u << 0,
  kLogWarning = 1u << 1,
  kLogNotice = 1u << 2,
  kLogInfo = 1u << 3,
  kLogSubscribe = 1u << 4,
  kLogUnsubscribe = 1u << 5,
  kLogWebsockets = 1u << 6,
  kLogDebug = 1u << 7,
  kLogAll = 0xffu,
};

// Name as used by log_type and $SYS/broker/log/<X> ("error", "warning", "notice", ...).
std::string_view log_level_name(uint32_t level);
// Parses one log_type value; returns false on an unknown name.
bool parse_log_type(std::string_view name, uint32_t& mask_out);

enum LogDest : uint32_t {
  kDestNone = 0,
  kDestStdout = 1u << 0,
  kDestStderr = 1u << 1,
  kDestFile = 1u << 2,
  kDestSyslog = 1u << 3,
  kDestTopic = 1u << 4,
};

struct LogSettings {
  uint32_t levels = kLogError | kLogWarning | kLogNotice | kLogInfo;
  uint32_t dests = kDestStderr;
  std::string file_path;          // for kDestFile
  bool timestamp = true;
  std::string timestamp_format;   // strftime; empty = Unix seconds like Mosquitto
  int syslog_local = -1;          // log_facility: syslog facility local0..local7; -1 = daemon
};

// One line of the recent log (the admin's Log page and live tail).
struct LogRecord {
  uint64_t seq = 0;   // 1, 2, 3, ... in write order
  int64_t time = 0;   // unix seconds
  uint32_t level = 0;
  std::string text;
};

class Logger {
 public:
  Logger();
  ~Logger();
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  bool enabled(uint32_t level) const { return (mask_.load(std::memory_order_relaxed) & level) != 0; }
  void write(uint32_t level, std::string_view msg);
  // Applies new settings (startup and SIGHUP). Returns an error text when a log file cannot
  // be opened (the previous destination stays in force), empty on success.
  std::string configure(const LogSettings& s);
  // Opens the log file again under its configured name (SIGHUP, so logrotate's rename
  // works): the old descriptor is closed only once the new one is open. Returns an error
  // text naming the file when it cannot be opened (logging goes on to the old file), empty
  // on success or when no file is configured.
  std::string reopen();
  // Sink for log_dest topic: the app wires it to publish on $SYS/broker/log/<level>.
  void set_topic_sink(std::function<void(uint32_t, std::string_view)> sink);
  // From the last kRecentLines lines written (whatever the destinations), those of a level
  // in `levels`, oldest first: with after_seq 0 the newest `max`; otherwise the first `max`
  // written after after_seq (so paging forward with the last seq seen skips nothing).
  std::vector<LogRecord> recent(uint64_t after_seq, uint32_t levels, size_t max) const;
  static constexpr size_t kRecentLines = 2000;

 private:
  std::atomic<uint32_t> mask_;
  mutable std::mutex mu_;
  std::deque<LogRecord> recent_;
  uint64_t seq_ = 0;
  LogSettings settings_;
  std::FILE* file_ = nullptr;
  bool syslog_open_ = false;
  std::function<void(uint32_t, std::string_view)> topic_sink_;
  bool in_topic_sink_ = false;
};

}  // namespace petrel

#define PETREL_LOG(logger, level, ...)                      \
  do {                                                     \
    if ((logger).enabled(level)) (logger).write((level), fmt::format(__VA_ARGS__)); \
  } while (0)
