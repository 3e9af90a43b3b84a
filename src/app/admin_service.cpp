#include "app/admin_service.h"

#include <boost/asio/post.hpp>
#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "app/admin_json.h"
#include "app/runtime.h"
#include "auth/file_security.h"
#include "auth/passwd_edit.h"
#include "auth/password_hash.h"
#include "config/document.h"
#include "config/options.h"
#include "config/parser.h"
#include "net/transport_factory.h"
#include "web/static_files.h"

namespace petrel::app {

namespace fs = std::filesystem;

namespace {

std::string hex(const unsigned char* p, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += d[p[i] >> 4];
    out += d[p[i] & 15];
  }
  return out;
}

std::string sha256_hex(const std::string& data, size_t bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return hex(md, std::min<size_t>(bytes, len));
}

// Writes a whole file with the given mode (created new, then renamed into place).
Result<void> write_private_file(const std::string& path, const std::string& content, mode_t mode) {
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return Error{0, fmt::format("cannot write {}: {}", tmp, std::strerror(errno))};
  ::fchmod(fd, mode);
  size_t off = 0;
  while (off < content.size()) {
    ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return Error{0, fmt::format("cannot write {}: {}", tmp, std::strerror(e))};
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(tmp.c_str());
    return Error{0, fmt::format("cannot write {}: {}", tmp, std::strerror(errno))};
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return Error{0, fmt::format("cannot write {}: {}", path, std::strerror(e))};
  }
  return {};
}

Result<void> ensure_dir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Error{0, fmt::format("cannot create the state directory {}: {}", dir, ec.message())};
  ::chmod(dir.c_str(), 0700);
  return {};
}

std::string who(const web::Request& req) {
  return fmt::format("'{}' from {}", web::printable_user(req.user), req.peer);
}

// mosquitto.conf keeps bridge passwords and PSK keys inline: a configuration file that
// holds one is made readable by its owner only (and its .bak with it).
void protect_secrets(const config::ConfigDocument& doc, const std::vector<std::string>& files, Logger& log) {
  for (const auto& f : files) {
    std::istringstream in(doc.text(f));
    std::string line;
    bool secret = false;
    while (!secret && std::getline(in, line)) {
      const size_t a = line.find_first_not_of(" \t");
      if (a == std::string::npos || line[a] == '#') continue;
      const std::string name = line.substr(a, line.find_first_of(" \t", a) - a);
      const config::OptionDescriptor* d = config::find_option(name);
      secret = d && d->secret;
    }
    struct stat st{};
    if (!secret || ::stat(f.c_str(), &st) != 0 || (st.st_mode & 077) == 0) continue;
    ::chmod(f.c_str(), st.st_mode & 0700);
    ::chmod((f + ".bak").c_str(), st.st_mode & 0700);
    PETREL_LOG(log, kLogNotice, "admin: {} holds a password or key now: made readable by its owner only.", f);
  }
}

// Every file a configuration names (TLS material, password, ACL and PSK files).
void referenced_files(const config::Config& c, std::set<std::string>& out) {
  auto security = [&](const config::SecuritySettings& s) {
    for (const auto* f : {&s.password_file, &s.acl_file, &s.psk_file}) out.insert(*f);
  };
  security(c.security);
  auto listeners = c.listeners;
  listeners.insert(listeners.end(), c.http_listeners.begin(), c.http_listeners.end());
  for (const auto& l : listeners) {
    for (const auto* f : {&l.certfile, &l.keyfile, &l.cafile, &l.crlfile}) out.insert(*f);
    security(l.security);
  }
  for (const auto& b : c.bridges)
    for (const auto* f : {&b.cafile, &b.certfile, &b.keyfile}) out.insert(*f);
  out.insert(c.http_api_password_file);
}

// The files the admin wrote into state_dir that neither the previous nor the new
// configuration names any more (replaced keys, old password files) are removed; the
// previous configuration's stay, so its .bak still works.
void remove_unused_managed(const std::string& dir, const config::Config& before, const config::Config& after) {
  static const std::regex managed(R"(^(broker-(cert|key|psk|users)|client-ca|bridge-.+-(ca|cert|key))-[0-9a-f]{12}\.(pem|txt|passwd)$)");
  std::set<std::string> used;
  referenced_files(before, used);
  referenced_files(after, used);
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (std::regex_match(name, managed) && !used.count(e.path().string())) fs::remove(e.path(), ec);
  }
}

// Restores the files an edit wrote from the .bak copies write() kept (a new file is
// removed), after an apply that failed.
void restore_files(const std::vector<std::string>& changed, const std::vector<bool>& existed) {
  for (size_t i = 0; i < changed.size(); ++i) {
    const std::string& f = changed[i];
    if (existed[i]) {
      ::rename((f + ".bak").c_str(), f.c_str());
    } else {
      ::unlink(f.c_str());
    }
  }
}

}  // namespace

// ---- ManagedFiles ------------------------------------------------------------------------

Result<std::string> ManagedFiles::write(const std::string& stem, const std::string& ext, const std::string& content) {
  if (auto d = ensure_dir(dir_); !d) return d.error();
  const std::string path = fmt::format("{}/{}-{}{}", dir_, stem, sha256_hex(content, 6), ext);
  std::error_code ec;
  if (fs::exists(path, ec)) return path;  // the same content is already there
  if (auto w = write_private_file(path, content, 0600); !w) return w.error();
  created_.push_back(path);
  return path;
}

void ManagedFiles::discard() {
  for (const auto& p : created_) ::unlink(p.c_str());
  created_.clear();
}

// ---- AdminService ------------------------------------------------------------------------

AdminService::AdminService(Runtime& rt) : rt_(rt) {
  // Audit lines (logins, failed logins, every change) are written whatever log_level says:
  // a level set to error through this API must not hide the changes made after it.
  auth_.set_audit([this](std::string_view line) { rt_.log().write(kLogNotice, line); });
  web::add_auth_routes(router_, auth_);
  add_routes();
  http_ = std::make_unique<web::HttpServer>(rt_.log(), router_, auth_);
}

AdminService::~AdminService() { stop(); }

void AdminService::add_routes() {
  add_status_routes(router_, *this);
  add_broker_routes(router_, *this);
  add_bridge_routes(router_, *this);
  add_client_routes(router_, *this);
  add_message_routes(router_, *this);
  web::add_static_routes(router_, web::ui_assets());  // the admin pages
}

std::string AdminService::password_file_of(const config::Config& cfg) {
  if (!cfg.http_api_password_file.empty()) return cfg.http_api_password_file;
  if (cfg.http_api_generated_password) return config::state_dir_of(cfg) + "/" + config::kAdminPasswordFileName;
  return {};
}

std::string AdminService::state_dir() const { return config::state_dir_of(rt_.running()); }

std::vector<web::Endpoint> AdminService::endpoints_of(const config::Config& cfg) const {
  std::vector<web::Endpoint> out;
  for (const auto& l : cfg.http_listeners) {
    web::Endpoint e;
    e.address = l.bind_address;
    e.port = l.port;
    e.certfile = l.certfile;
    e.keyfile = l.keyfile;
    out.push_back(std::move(e));
  }
  return out;
}

// The embedded default has no password file to name: the first start makes one with a
// random password for user "admin" and shows the password once, as Grafana and Jenkins do.
Result<void> AdminService::ensure_generated_password(const config::Config& cfg) {
  if (!cfg.http_api_generated_password || !cfg.http_api_password_file.empty() || cfg.http_listeners.empty())
    return {};
  const std::string path = password_file_of(cfg);
  std::error_code ec;
  if (fs::exists(path, ec)) return {};
  if (auto d = ensure_dir(config::state_dir_of(cfg)); !d) return d.error();
  unsigned char raw[12];
  if (RAND_bytes(raw, sizeof raw) != 1) return Error{0, "cannot generate an admin password: no randomness"};
  const std::string password = base64_encode(std::string_view(reinterpret_cast<const char*>(raw), sizeof raw));
  auto hash = auth::hash_password(password, auth::HashParams{});
  if (!hash) return hash.error();
  if (auto w = write_private_file(path, auth::password_line("admin", *hash), 0600); !w) return w.error();
  const auto& l = cfg.http_listeners.front();
  PETREL_LOG(rt_.log(), kLogNotice,
             "Web admin: http://{}:{}/ user 'admin', password '{}' (generated now and shown only this once; "
             "its hash is in {}; change it with petrel_passwd).",
             l.bind_address.empty() ? "localhost" : l.bind_address, l.port, password, path);
  return {};
}

Result<void> AdminService::open(const config::Config& cfg) {
  if (cfg.http_listeners.empty()) return {};
  if (auto g = ensure_generated_password(cfg); !g) {
    // The embedded default's admin is a convenience: the broker runs without it.
    if (cfg.http_api_generated_password) {
      PETREL_LOG(rt_.log(), kLogError, "Web admin not started: {}", g.error().message);
      return {};
    }
    return g.error();
  }
  if (auto u = auth_.set_password_file(password_file_of(cfg)); !u) return Error{0, "http_api_password_file: " + u.error().message};
  if (auto o = http_->open(endpoints_of(cfg)); !o) {
    if (cfg.http_api_generated_password) {
      PETREL_LOG(rt_.log(), kLogError, "Web admin not started: {}", o.error().message);
      return {};
    }
    return o.error();
  }
  opened_ = true;
  return {};
}

void AdminService::serve() {
  if (!opened_) return;
  http_->start();
  started_ = true;
  rt_.on_sample([this](const StatusSample& s) { publish_sample(s); });
}

Result<void> AdminService::apply(const config::Config& next, const config::ConfigDiff& diff) {
  if (next.http_listeners.empty() && !started_) return {};
  if (!next.http_listeners.empty()) {
    if (auto g = ensure_generated_password(next); !g) return g.error();
    // Read the users first (no side effect), so a broken file fails before the endpoints move.
    auto users = auth::PasswordFile::load(password_file_of(next));
    if (!users) return Error{0, "http_api_password_file: " + users.error().message};
    if (!diff.http_added.empty() || !diff.http_removed.empty() || !diff.http_changed.empty() || !started_) {
      if (auto r = http_->replace(endpoints_of(next)); !r) return r.error();
    }
    auth_.set_users(std::move(*users));
    if (!started_) {
      http_->start();
      started_ = true;
      rt_.on_sample([this](const StatusSample& s) { publish_sample(s); });
    }
  } else {
    http_->close_all();
  }
  return {};
}

void AdminService::stop() {
  {
    std::lock_guard lk(streams_mu_);
    for (auto& s : status_streams_) s->close();
    status_streams_.clear();
    for (auto& t : log_tails_) t.stream->close();
    log_tails_.clear();
  }
  if (http_) http_->stop();
}

void AdminService::audit(const web::Request& req, const std::string& what) {
  auth_.audit(fmt::format("admin: {} {}", who(req), what));
}

void AdminService::add_status_stream(std::shared_ptr<web::EventStream> stream) {
  std::lock_guard lk(streams_mu_);
  status_streams_.push_back(std::move(stream));
}

void AdminService::add_log_tail(std::shared_ptr<web::EventStream> stream, uint32_t levels, uint64_t last) {
  std::lock_guard lk(streams_mu_);
  log_tails_.push_back({std::move(stream), levels, last});
}

void AdminService::publish_sample(const StatusSample& s) {
  std::vector<std::shared_ptr<web::EventStream>> streams;
  {
    std::lock_guard lk(streams_mu_);
    std::erase_if(status_streams_, [](const auto& st) { return !st->is_open(); });
    std::erase_if(log_tails_, [](const auto& t) { return !t.stream->is_open(); });
    streams = status_streams_;
    for (auto& t : log_tails_) {
      for (const auto& r : rt_.log().recent(t.last, t.levels, 500)) {
        t.stream->send("log", boost::json::serialize(log_json(r)));
        t.last = std::max(t.last, r.seq);
      }
    }
  }
  if (streams.empty()) return;
  const std::string body = boost::json::serialize(status_json(rt_, s));
  for (auto& st : streams) st->send("status", body);
}

// ---- the one way a configuration changes --------------------------------------------------

void AdminService::edit_config(const web::Request& req, std::shared_ptr<web::Reply> reply, Edit edit) {
  // Copies: the Request belongs to the connection, which moves on once answered.
  const std::string origin = fmt::format("admin {}", who(req));
  web::Request audit_req;
  audit_req.user = req.user;
  audit_req.peer = req.peer;
  boost::asio::post(rt_.control_io(), [this, reply, edit = std::move(edit), origin, audit_req] {
    const config::Config running = rt_.running();
    std::string path = rt_.config_path();
    const bool first_save = path.empty();
    if (first_save) path = config::state_dir_of(running) + "/petrel.conf";
    std::optional<config::ConfigDocument> doc;
    if (first_save) {
      if (auto d = ensure_dir(config::state_dir_of(running)); !d) return send_error(reply, 500, d.error().message);
      doc = config::ConfigDocument::from_text(path, config::default_config_text(config::state_dir_of(running)));
    } else {
      auto loaded = config::ConfigDocument::load(path);
      if (!loaded) return send_error(reply, 500, "cannot read the configuration: " + loaded.error().message);
      doc = std::move(*loaded);
    }
    ManagedFiles files(config::state_dir_of(running));
    EditOutcome out = edit(*doc, files, running);
    auto refuse = [&](std::vector<web::FieldError> errors) {
      files.discard();
      reply->send(web::field_error_response(400, std::move(errors)));
    };
    if (!out.errors.empty()) return refuse(std::move(out.errors));
    if (doc->changed_files().empty()) {
      files.discard();
      boost::json::object o{{"ok", true}, {"message", "no change"}, {"changes", boost::json::array()}};
      return send_json(reply, o);
    }
    // The checks of --test-config, before anything is written.
    auto parsed = doc->parse();
    if (!parsed.ok()) {
      std::vector<web::FieldError> errors;
      for (const auto& e : parsed.errors) {
        std::string field = doc->field_at(e.file, e.line);
        errors.push_back({field.empty() ? e.option : field, config::format_error(e)});
      }
      return refuse(std::move(errors));
    }
    config::Config next = std::move(parsed.config);
    if (!rt_.command_line().ports.empty()) config::apply_port_override(next, rt_.command_line().ports);
    if (rt_.command_line().verbose) next.log.levels = kLogAll;
    for (const auto& l : next.listeners) {
      std::string err;
      net::make_transport_factory(l, rt_.log(), err);
      if (!err.empty()) return refuse({{"tls", err}});
    }
    if (auto sec = auth::make_security(next); !sec) return refuse({{"security", sec.error().message}});

    // Write (atomically, the previous versions kept as .bak), then apply.
    const std::vector<std::string> changed = doc->changed_files();
    std::vector<bool> existed;
    for (const auto& f : changed) existed.push_back(fs::exists(f));
    if (auto w = doc->write(); !w) {
      files.discard();
      return send_error(reply, 500, "cannot write the configuration: " + w.error().message + "; nothing was changed");
    }
    protect_secrets(*doc, changed, rt_.log());
    ApplyReport report = rt_.apply(next, origin);
    if (!report.ok) {
      restore_files(changed, existed);
      files.discard();
      boost::json::object o{{"ok", false},
                            {"rolled_back", true},
                            {"error", report.error},
                            {"message", report.error + "; the previous configuration is back and nothing was changed"}};
      PETREL_LOG(rt_.log(), kLogWarning, "admin: change by {} rolled back: {}", origin.substr(6), report.error);
      return send_json(reply, o, 409);
    }
    if (first_save) rt_.set_config_path(path);
    remove_unused_managed(files.dir(), running, rt_.running());
    std::string changes;
    for (const auto& c : report.changes) changes += (changes.empty() ? "" : "; ") + c;
    audit(audit_req, fmt::format("changed {}: {}", out.what, changes.empty() ? "no setting" : changes));
    boost::json::array a_changes, a_applied, a_kept, a_restart, a_warn;
    for (const auto& x : report.changes) a_changes.emplace_back(x);
    for (const auto& x : report.applied) a_applied.emplace_back(x);
    for (const auto& x : report.kept) a_kept.emplace_back(x);
    for (const auto& x : report.restart_required) a_restart.emplace_back(x);
    for (const auto& x : report.warnings) a_warn.emplace_back(x);
    boost::json::object o{{"ok", true},         {"message", report.summary()}, {"changes", a_changes},
                          {"applied", a_applied}, {"kept", a_kept},            {"restart_required", a_restart},
                          {"warnings", a_warn},   {"config_file", path}};
    send_json(reply, o);
  });
}

}  // namespace petrel::app
