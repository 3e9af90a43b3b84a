#pragma once
// Helpers for the config tests: parse a snippet, look for an error or warning by text,
// and a unique temporary directory removed at the end of the test.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "config/parser.h"

namespace petrel::config::test {

inline ParseResult parse(const std::string& text) { return parse_config_text(text, "t.conf"); }

inline std::string all_errors(const ParseResult& r) {
  std::string s;
  for (const auto& e : r.errors) s += format_error(e) + "\n";
  return s;
}

inline std::string all_warnings(const ParseResult& r) {
  std::string s;
  for (const auto& w : r.warnings) s += w + "\n";
  return s;
}

// True when some formatted error contains `needle`.
inline bool has_error(const ParseResult& r, const std::string& needle) {
  return all_errors(r).find(needle) != std::string::npos;
}

inline bool has_warning(const ParseResult& r, const std::string& needle) {
  return all_warnings(r).find(needle) != std::string::npos;
}

// Parses `text` expecting no error; returns the Config.
inline Config parse_ok(const std::string& text) {
  ParseResult r = parse(text);
  EXPECT_TRUE(r.errors.empty()) << "for:\n" << text << "\ngot:\n" << all_errors(r);
  return r.config;
}

class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
    path_ = std::filesystem::temp_directory_path() /
            ("petrel-config-test-" + std::to_string(::getpid()) + "-" + std::to_string(stamp) + "-" +
             std::to_string(counter++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string path() const { return path_.string(); }
  // Writes `text` to `name` (relative to the directory, subdirectories created); returns the path.
  std::string write(const std::string& name, const std::string& text) const {
    auto p = path_ / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
    return p.string();
  }

 private:
  std::filesystem::path path_;
};

}  // namespace petrel::config::test
