#include "common/log.h"

#include <algorithm>

#include <syslog.h>

#include <cerrno>
#include <cstring>
#include <ctime>

namespace petrel {

std::string_view log_level_name(uint32_t level) {
  switch (level) {
    case kLogError: return "error";
    case kLogWarning: return "warning";
    case kLogNotice: return "notice";
    case kLogInfo: return "information";
    case kLogSubscribe: return "subscribe";
    case kLogUnsubscribe: return "unsubscribe";
    case kLogWebsockets: return "websockets";
    case kLogDebug: return "debug";
    default: return "unknown";
  }
}

bool parse_log_type(std::string_view name, uint32_t& mask) {
  struct Entry { std::string_view n; uint32_t m; };
  static constexpr Entry kTable[] = {
      {"none", kLogNone},          {"error", kLogError},         {"warning", kLogWarning},
      {"notice", kLogNotice},      {"information", kLogInfo},    {"subscribe", kLogSubscribe},
      {"unsubscribe", kLogUnsubscribe}, {"websockets", kLogWebsockets}, {"debug", kLogDebug},
      {"all", kLogAll},
  };
  for (const auto& e : kTable) {
    if (e.n == name) { mask = e.m; return true; }
  }
  return false;
}

Logger::Logger() : mask_(LogSettings{}.levels) {}

Logger::~Logger() {
  if (file_) std::fclose(file_);
  if (syslog_open_) closelog();
}

std::string Logger::configure(const LogSettings& s) {
  std::lock_guard lk(mu_);
  std::FILE* nf = nullptr;
  if (s.dests & kDestFile) {
    nf = std::fopen(s.file_path.c_str(), "a");
    if (!nf) return fmt::format("cannot open log file '{}'", s.file_path);
  }
  if (file_) std::fclose(file_);
  file_ = nf;
  if ((s.dests & kDestSyslog) && (!syslog_open_ || s.syslog_local != settings_.syslog_local)) {
    static constexpr int kLocal[8] = {LOG_LOCAL0, LOG_LOCAL1, LOG_LOCAL2, LOG_LOCAL3,
                                      LOG_LOCAL4, LOG_LOCAL5, LOG_LOCAL6, LOG_LOCAL7};
    if (syslog_open_) closelog();
    openlog("petrel", LOG_PID, s.syslog_local >= 0 && s.syslog_local < 8 ? kLocal[s.syslog_local] : LOG_DAEMON);
    syslog_open_ = true;
  }
  settings_ = s;
  mask_.store(s.dests == kDestNone ? kLogNone : s.levels, std::memory_order_relaxed);
  return {};
}

std::string Logger::reopen() {
  std::lock_guard lk(mu_);
  if (!(settings_.dests & kDestFile)) return {};
  std::FILE* nf = std::fopen(settings_.file_path.c_str(), "a");
  if (!nf) return fmt::format("cannot open log file '{}': {}", settings_.file_path, std::strerror(errno));
  if (file_) std::fclose(file_);
  file_ = nf;
  return {};
}

void Logger::set_topic_sink(std::function<void(uint32_t, std::string_view)> sink) {
  std::lock_guard lk(mu_);
  topic_sink_ = std::move(sink);
}

static int syslog_priority(uint32_t level) {
  switch (level) {
    case kLogError: return LOG_ERR;
    case kLogWarning: return LOG_WARNING;
    case kLogNotice: return LOG_NOTICE;
    case kLogDebug: return LOG_DEBUG;
    default: return LOG_INFO;
  }
}

void Logger::write(uint32_t level, std::string_view msg) {
  std::function<void(uint32_t, std::string_view)> sink;
  {
    std::lock_guard lk(mu_);
    std::string line;
    if (settings_.timestamp) {
      std::time_t t = std::time(nullptr);
      if (settings_.timestamp_format.empty()) {
        line = fmt::format("{}: ", static_cast<long long>(t));
      } else {
        char buf[128];
        std::tm tm{};
        localtime_r(&t, &tm);
        size_t n = std::strftime(buf, sizeof buf, settings_.timestamp_format.c_str(), &tm);
        line.assign(buf, n);
        line += ": ";
      }
    }
    line += msg;
    line += '\n';
    recent_.push_back({++seq_, static_cast<int64_t>(std::time(nullptr)), level, std::string(msg)});
    if (recent_.size() > kRecentLines) recent_.pop_front();
    if (settings_.dests & kDestStdout) { std::fwrite(line.data(), 1, line.size(), stdout); std::fflush(stdout); }
    if (settings_.dests & kDestStderr) std::fwrite(line.data(), 1, line.size(), stderr);
    if ((settings_.dests & kDestFile) && file_) { std::fwrite(line.data(), 1, line.size(), file_); std::fflush(file_); }
    if (settings_.dests & kDestSyslog) syslog(syslog_priority(level), "%.*s", static_cast<int>(msg.size()), msg.data());
    if ((settings_.dests & kDestTopic) && topic_sink_ && !in_topic_sink_) sink = topic_sink_;
  }
  if (sink) {
    // Guard against a sink that logs (it would recurse); the flag is best-effort.
    in_topic_sink_ = true;
    sink(level, msg);
    in_topic_sink_ = false;
  }
}

std::vector<LogRecord> Logger::recent(uint64_t after_seq, uint32_t levels, size_t max) const {
  std::lock_guard lk(mu_);
  std::vector<LogRecord> out;
  if (after_seq == 0) {  // the newest `max`
    for (auto it = recent_.rbegin(); it != recent_.rend() && out.size() < max; ++it)
      if (it->level & levels) out.push_back(*it);
    std::reverse(out.begin(), out.end());
    return out;
  }
  for (const auto& r : recent_) {  // the oldest `max` after after_seq: paging forward skips nothing
    if (out.size() >= max) break;
    if (r.seq > after_seq && (r.level & levels)) out.push_back(r);
  }
  return out;
}

}  // namespace petrel
