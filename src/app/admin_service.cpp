#include "app/admin_service.h"

#include "app/runtime.h"

namespace petrel::app {

AdminService::AdminService(Runtime& rt) : rt_(rt) {}
AdminService::~AdminService() = default;

Result<void> AdminService::start(const config::Config& cfg) {
  if (!cfg.http_listeners.empty() && !cfg.http_api_generated_password)
    return Error{0, "protocol http_api: the admin API is not in this build yet"};
  return {};
}

Result<void> AdminService::apply(const config::Config& next, const config::ConfigDiff&) {
  if (!next.http_listeners.empty() && !next.http_api_generated_password)
    return Error{0, "protocol http_api: the admin API is not in this build yet"};
  return {};
}

void AdminService::stop() {}

}  // namespace petrel::app
