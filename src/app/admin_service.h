#pragma once
// AdminService: the admin API on the `protocol http_api` listeners (src/web), wired to
// the Runtime. Its fallible part of an apply (admin users, endpoints) runs inside
// Runtime::apply before anything is committed.
#include "common/result.h"
#include "config/config.h"
#include "config/diff.h"

namespace petrel::app {

class Runtime;

class AdminService {
 public:
  explicit AdminService(Runtime& rt);
  ~AdminService();
  Result<void> start(const config::Config& cfg);
  Result<void> apply(const config::Config& next, const config::ConfigDiff& diff);
  void stop();

 private:
  Runtime& rt_;
};

}  // namespace petrel::app
