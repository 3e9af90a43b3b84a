#pragma once
// AdminService: the admin API on the `protocol http_api` listeners, wired to the Runtime.
// The HTTP layer (server thread, routing, authentication, sessions, CSRF, rate limiting,
// event streams) is src/web; this is what the routes do:
//   - Mosquitto 2.1's read-only endpoints (/api/v1/systree, /listeners, /version) with the
//     same JSON shapes, and /metrics in Prometheus text format;
//   - Petrel's API under /api/petrel/v1 (docs/api.md): status (and a live stream), the
//     router product's broker settings and bridges, clients, retained messages, publish,
//     a live subscription, the log.
// Every configuration change goes one way (admin_config.cpp): edit the configuration files
// (config::ConfigDocument), check them as --test-config does, write them atomically, and
// apply them through Runtime::apply on the control thread; when applying fails, the
// previous files come back and nothing changed. Reads run on the server thread or on the
// workers (client lists), never blocking a worker.
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "common/result.h"
#include "config/config.h"
#include "config/diff.h"
#include "web/auth.h"
#include "web/http_server.h"
#include "web/json.h"
#include "web/reply.h"
#include "web/router.h"

namespace petrel::config {
class ConfigDocument;
}

namespace petrel::app {

class Runtime;
struct StatusSample;

// Files the admin writes into state_dir (certificates, keys, password and PSK files).
// Each is named by a hash of its content, so a change never overwrites a file the running
// configuration still names: rolling back is removing what was written.
class ManagedFiles {
 public:
  explicit ManagedFiles(std::string dir) : dir_(std::move(dir)) {}
  // Writes `content` (mode 0600) as DIR/<stem>-<hash><ext>; returns its path.
  Result<std::string> write(const std::string& stem, const std::string& ext, const std::string& content);
  // Removes what write() created in this edit (the edit failed).
  void discard();
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::vector<std::string> created_;
};

// What one configuration edit asks: the document changes, and the field errors found.
struct EditOutcome {
  std::vector<web::FieldError> errors;  // non-empty: nothing is written
  std::string what;                      // for the audit line: "broker settings", "bridge 'x' created"
};

class AdminService {
 public:
  explicit AdminService(Runtime& rt);
  ~AdminService();
  AdminService(const AdminService&) = delete;
  AdminService& operator=(const AdminService&) = delete;

  // Startup, in two steps around the privilege drop: open() reads the admin users (a
  // generated password for the embedded default) and binds the endpoints (a port below
  // 1024 needs root); serve() then answers requests, once everything they read exists.
  Result<void> open(const config::Config& cfg);
  void serve();
  // The fallible part of Runtime::apply: the new admin users are loaded, then the
  // endpoints replaced (new ones bound first). On error nothing changed.
  Result<void> apply(const config::Config& next, const config::ConfigDiff& diff);
  void stop();

  // ---- for the route files (admin_*.cpp) ----
  Runtime& runtime() { return rt_; }
  web::Auth& auth() { return auth_; }
  void audit(const web::Request& req, const std::string& what);
  // Runs a configuration edit on the control thread and answers `reply` with the apply
  // report (200), the field errors (400), or the failure and rollback (409/500).
  using Edit = std::function<EditOutcome(config::ConfigDocument& doc, ManagedFiles& files, const config::Config& running)>;
  void edit_config(const web::Request& req, std::shared_ptr<web::Reply> reply, Edit edit);
  // The admin's own sockets and open connections (for the status).
  std::vector<web::BoundAddress> bound() const { return http_ ? http_->bound() : std::vector<web::BoundAddress>{}; }
  size_t connections() const { return http_ ? http_->connection_count() : 0; }
  // The state directory of the running configuration.
  std::string state_dir() const;
  // A live status stream: gets the status every second until the client goes.
  void add_status_stream(std::shared_ptr<web::EventStream> stream);
  // A live log tail: lines of `levels` after `last`, fed once a second.
  void add_log_tail(std::shared_ptr<web::EventStream> stream, uint32_t levels, uint64_t last);
  // The admin password file in use (the configured one, or the generated one).
  static std::string password_file_of(const config::Config& cfg);

 private:
  void add_routes();
  std::vector<web::Endpoint> endpoints_of(const config::Config& cfg) const;
  Result<void> ensure_generated_password(const config::Config& cfg);
  void publish_sample(const StatusSample& s);

  Runtime& rt_;
  web::Router router_;
  web::Auth auth_;
  std::unique_ptr<web::HttpServer> http_;
  bool started_ = false;
  bool opened_ = false;   // open() bound the endpoints; serve() starts answering
  // Live status streams: fed once a second from the control thread.
  std::mutex streams_mu_;
  std::vector<std::shared_ptr<web::EventStream>> status_streams_;
  struct LogTail {
    std::shared_ptr<web::EventStream> stream;
    uint32_t levels = 0;
    uint64_t last = 0;
  };
  std::vector<LogTail> log_tails_;
  std::atomic<uint64_t> watch_counter_{0};
};

// Route registration, one file per resource.
void add_status_routes(web::Router& r, AdminService& a);     // admin_status.cpp: status, metrics, Mosquitto's three
void add_broker_routes(web::Router& r, AdminService& a);     // admin_broker.cpp
void add_bridge_routes(web::Router& r, AdminService& a);     // admin_bridges.cpp
void add_client_routes(web::Router& r, AdminService& a);     // admin_clients.cpp: clients, retained, log
void add_message_routes(web::Router& r, AdminService& a);    // admin_messages.cpp: publish, watch

}  // namespace petrel::app
