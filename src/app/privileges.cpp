#include "app/privileges.h"

#include <fmt/format.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

namespace petrel::app {

namespace {

std::string errno_text() { return std::strerror(errno); }

struct Entry {
  std::string path;
  int mode;          // R_OK, or W_OK|X_OK for a directory petrel writes in
  std::string what;  // who needs it
  bool fatal = true;  // false: a warning (petrel works until the file is needed)
};

void add(std::vector<Entry>& out, const std::string& path, int mode, std::string what, bool fatal = true) {
  if (!path.empty()) out.push_back({path, mode, std::move(what), fatal});
}

void add_security(std::vector<Entry>& out, const config::SecuritySettings& s, const std::string& scope) {
  add(out, s.password_file, R_OK, "password_file" + scope + " (read again on SIGHUP)");
  add(out, s.acl_file, R_OK, "acl_file" + scope + " (read again on SIGHUP)");
  add(out, s.psk_file, R_OK, "psk_file" + scope + " (read again on SIGHUP)");
}

std::string parent_dir(const std::string& path) {
  std::filesystem::path p(path);
  auto parent = p.parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

}  // namespace

Result<PrivilegeDrop> drop_privileges(const config::Config& cfg, bool from_file, const std::string& config_path) {
  PrivilegeDrop r;
  if (::geteuid() != 0) return r;  // nothing to drop (Mosquitto's rule too)
  if (!from_file && cfg.user.empty()) {
    r.user = "root";
    r.notes.push_back("Running as root with the embedded default configuration: petrel keeps the starting user "
                      "(its state is under it and it listens on loopback only). A configuration file drops "
                      "to `user` (default mosquitto).");
    return r;
  }
  std::string name = cfg.user.empty() ? std::string("mosquitto") : cfg.user;
  if (name == "root") {
    r.user = "root";
    r.notes.push_back("Warning: running as root (user root); any flaw in petrel is a flaw with root's rights.");
    return r;
  }
  errno = 0;
  const passwd* pw = ::getpwnam(name.c_str());
  if (!pw && name == "mosquitto") {
    r.notes.push_back("Warning: there is no user 'mosquitto' to drop privileges to; using 'nobody' instead.");
    name = "nobody";
    pw = ::getpwnam(name.c_str());
  }
  if (!pw) {
    return Error{0, fmt::format("user '{}' does not exist (the `user` option{}): create it, or name another user",
                                name, config_path.empty() ? std::string() : " in " + config_path)};
  }
  const uid_t uid = pw->pw_uid;
  const gid_t gid = pw->pw_gid;
  // The log file petrel opened as root becomes the user's, so SIGHUP can reopen it.
  if ((cfg.log.dests & kDestFile) && !cfg.log.file_path.empty()) {
    struct stat st{};
    if (::stat(cfg.log.file_path.c_str(), &st) == 0 && st.st_uid == 0 && ::chown(cfg.log.file_path.c_str(), uid, gid) == 0)
      r.notes.push_back(fmt::format("Log file {} now belongs to user '{}'.", cfg.log.file_path, name));
  }
  // Supplementary groups first (a key readable by group ssl-cert, say), then the group,
  // then the user: after setuid nothing can be changed back.
  if (::initgroups(name.c_str(), gid) != 0)
    return Error{0, fmt::format("cannot set the groups of user '{}': {}", name, errno_text())};
  if (::setgid(gid) != 0) return Error{0, fmt::format("cannot change to group {} of user '{}': {}", gid, name, errno_text())};
  if (::setuid(uid) != 0) return Error{0, fmt::format("cannot change to user '{}': {}", name, errno_text())};
  if (::setuid(0) == 0) return Error{0, fmt::format("dropping to user '{}' did not hold: root could be regained", name)};
  r.dropped = true;
  r.user = name;
  r.notes.push_back(fmt::format("Dropped privileges to user '{}' (uid {}, gid {}).", name, uid, gid));
  return r;
}

RuntimeFileCheck check_runtime_files(const config::Config& cfg, const std::string& config_path,
                                     const std::string& user) {
  std::vector<Entry> files;
  add(files, config_path, R_OK, "the configuration (read again on SIGHUP)");
  if (!cfg.per_listener_settings) add_security(files, cfg.security, "");
  for (const auto& l : cfg.listeners) {
    const std::string where = fmt::format(" of the listener at {}", l.source);
    if (cfg.per_listener_settings) add_security(files, l.security, where);
    add(files, l.cafile, R_OK, "cafile" + where + " (read again on reload)");
    add(files, l.capath, R_OK | X_OK, "capath" + where + " (read again on reload)");
    add(files, l.certfile, R_OK, "certfile" + where + " (read again on reload)");
    add(files, l.keyfile, R_OK, "keyfile" + where + " (read again on reload)");
    add(files, l.crlfile, R_OK, "crlfile" + where + " (read again on reload)");
    add(files, l.dhparamfile, R_OK, "dhparamfile" + where + " (read again on reload)");
    if (l.protocol == config::ListenerProtocol::kWebsockets) {
      add(files, l.http_dir, R_OK | X_OK, "http_dir" + where + " (its files are read for every request)");
    }
  }
  for (const auto& l : cfg.http_listeners) {
    const std::string where = fmt::format(" of the admin listener at {}", l.source);
    add(files, l.certfile, R_OK, "certfile" + where + " (read again on reload)");
    add(files, l.keyfile, R_OK, "keyfile" + where + " (read again on reload)");
  }
  add(files, cfg.http_api_password_file, R_OK, "http_api_password_file (read again on reload)");
  for (const auto& b : cfg.bridges) {
    const std::string where = " of bridge " + b.name + " (read at every connection)";
    add(files, b.cafile, R_OK, "bridge_cafile" + where);
    add(files, b.capath, R_OK | X_OK, "bridge_capath" + where);
    add(files, b.certfile, R_OK, "bridge_certfile" + where);
    add(files, b.keyfile, R_OK, "bridge_keyfile" + where);
  }
  if (config::persistence_active(cfg.persistence)) {
    const std::string db = config::persistence_path(cfg.persistence);
    add(files, parent_dir(db), W_OK | X_OK, "persistence_location (the store writes its journal there)");
    if (::access(db.c_str(), F_OK) == 0) add(files, db, R_OK | W_OK, "the persistence store");
  }
  if ((cfg.log.dests & kDestFile) && !cfg.log.file_path.empty()) {
    add(files, cfg.log.file_path, W_OK, "log_dest file (reopened on SIGHUP)");
    add(files, parent_dir(cfg.log.file_path), W_OK | X_OK,
        "log_dest file's directory (after logrotate renamed the file, SIGHUP makes a new one there)", false);
  }
  RuntimeFileCheck out;
  std::set<std::string> seen;
  for (const auto& f : files) {
    if (!seen.insert(f.path + "\n" + std::to_string(f.mode)).second) continue;
    if (::access(f.path.c_str(), f.mode) == 0) continue;
    const int err = errno;
    const char* need = (f.mode & W_OK) ? ((f.mode & X_OK) ? "write in" : "write") : "read";
    (f.fatal ? out.errors : out.warnings)
        .push_back(fmt::format("{}: user '{}' cannot {} it ({}), needed for {}", f.path, user, need,
                               std::strerror(err), f.what));
  }
  return out;
}

}  // namespace petrel::app
