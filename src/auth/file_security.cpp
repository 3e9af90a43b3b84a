#include "auth/file_security.h"

#include <map>
#include <type_traits>

namespace petrel::auth {
namespace {

constexpr uint8_t kBadUserOrPassword = 0x86;
constexpr uint8_t kNotAuthorized = 0x87;

// Loads files once each, keyed by kind and path, collecting every error.
class Loader {
 public:
  Loader(const SecurityOptions& o, SecurityLoad& out) : options_(o), out_(out) {}

  FileSecurity::Domain domain(const config::SecuritySettings& s) {
    FileSecurity::Domain d;
    d.allow_anonymous = s.allow_anonymous;
    if (!s.password_file.empty()) d.passwords = get(passwords_, s.password_file);
    if (!s.acl_file.empty()) d.acl = get(acls_, s.acl_file);
    if (!s.psk_file.empty()) d.psk = get(psks_, s.psk_file);
    return d;
  }

 private:
  Result<PasswordFile> load(const std::string& path, const PasswordFile*) {
    return PasswordFile::load(path);
  }
  Result<AclFile> load(const std::string& path, const AclFile*) { return AclFile::load(path); }
  Result<PskFile> load(const std::string& path, const PskFile*) {
    return PskFile::load(path);
  }

  template <class T>
  std::shared_ptr<const T> get(std::map<std::string, std::shared_ptr<const T>>& cache,
                               const std::string& path) {
    if (auto it = cache.find(path); it != cache.end()) return it->second;
    std::shared_ptr<const T> ptr;
    auto r = load(path, static_cast<const T*>(nullptr));
    if (r) {
      ptr = std::make_shared<const T>(std::move(r).value());
      if constexpr (std::is_same_v<T, AclFile>) {
        for (const auto& w : ptr->warnings()) out_.warnings.push_back(w);
      }
      if constexpr (std::is_same_v<T, PasswordFile>) {
        for (const auto& p : ptr->problems()) out_.line_problems.push_back(p);
      }
    } else {
      split_into(r.error().message, out_.errors);
    }
    cache.emplace(path, ptr);
    return ptr;
  }

  static void split_into(const std::string& all, std::vector<std::string>& out) {
    size_t start = 0;
    while (start <= all.size()) {
      size_t nl = all.find('\n', start);
      if (nl == std::string::npos) nl = all.size();
      if (nl > start) out.push_back(all.substr(start, nl - start));
      start = nl + 1;
    }
  }

  const SecurityOptions& options_;
  SecurityLoad& out_;
  std::map<std::string, std::shared_ptr<const PasswordFile>> passwords_;
  std::map<std::string, std::shared_ptr<const AclFile>> acls_;
  std::map<std::string, std::shared_ptr<const PskFile>> psks_;
};

}  // namespace

FileSecurity::FileSecurity(std::vector<Domain> domains, std::vector<ListenerPolicy> listeners,
                           SecurityOptions options)
    : domains_(std::move(domains)), listeners_(std::move(listeners)), options_(options) {
  if (domains_.empty()) domains_.emplace_back();
  for (auto& l : listeners_) {
    if (l.domain >= domains_.size()) l.domain = 0;
  }
  for (const auto& d : domains_) has_acl_ = has_acl_ || d.acl != nullptr;
}

const FileSecurity::Domain& FileSecurity::domain_of(int listener) const {
  return domains_[policy_of(listener).domain];
}

const FileSecurity::ListenerPolicy& FileSecurity::policy_of(int listener) const {
  if (listener >= 0 && static_cast<size_t>(listener) < listeners_.size()) {
    return listeners_[static_cast<size_t>(listener)];
  }
  return fallback_;
}

uint8_t FileSecurity::authenticate_identity(const broker::ClientIdentity& id,
                                            const ListenerPolicy& policy, const Domain& d,
                                            std::string& username_out) const {
  std::string_view identity;
  if (policy.identity_as_username) {
    identity = !id.psk_identity.empty() ? id.psk_identity : id.cert_cn;
  } else {
    identity = id.cert_subject;
  }
  if (identity.empty()) {
    // A certificate without a CN is "not authorised"; no certificate at all leaves the
    // client without a user name.
    return policy.identity_as_username && !id.cert_subject.empty() ? kNotAuthorized
                                                                   : kBadUserOrPassword;
  }
  if ((options_.identity_must_be_known || policy.identity_must_be_known) && (d.passwords || d.acl)) {
    bool known =
        (d.passwords && d.passwords->contains(identity)) || (d.acl && d.acl->names_user(identity));
    if (!known) return kNotAuthorized;
  }
  username_out.assign(identity);
  return 0;
}

uint8_t FileSecurity::authenticate(const broker::ClientIdentity& id,
                                   std::string& username_out) const {
  const ListenerPolicy& policy = policy_of(id.listener);
  const Domain& d = domains_[policy.domain];
  if (policy.identity_as_username || policy.subject_as_username) {
    return authenticate_identity(id, policy, d, username_out);
  }
  if (!id.username) return policy.allow_anonymous.value_or(d.allow_anonymous) ? 0 : kNotAuthorized;
  if (d.passwords) {
    if (!id.password) {
      // Still spend the time of a check, so a missing password is not told apart.
      (void)d.passwords->check(*id.username, {});
      return options_.bad_credentials_reason;
    }
    return d.passwords->check(*id.username, *id.password) ? 0 : options_.bad_credentials_reason;
  }
  return policy.allow_anonymous.value_or(d.allow_anonymous) ? 0 : kNotAuthorized;
}

bool FileSecurity::allowed(int listener, std::string_view client_id, std::string_view username,
                           std::string_view topic, broker::Access access) const {
  const Domain& d = domain_of(listener);
  if (!d.acl) return true;
  return d.acl->allowed(client_id, username, topic, access);
}

const std::vector<uint8_t>* FileSecurity::psk_key(int listener, std::string_view identity) const {
  const Domain& d = domain_of(listener);
  return d.psk ? d.psk->key(identity) : nullptr;
}

SecurityLoad load_security(const config::Config& config, const SecurityOptions& options) {
  SecurityLoad out;
  Loader loader(options, out);
  std::vector<FileSecurity::Domain> domains;
  std::vector<FileSecurity::ListenerPolicy> policies;
  domains.push_back(loader.domain(config.security));
  for (const auto& l : config.listeners) {
    FileSecurity::ListenerPolicy p;
    p.identity_as_username = l.use_identity_as_username;
    p.identity_must_be_known = l.require_known_identity;
    p.subject_as_username = l.use_subject_as_username;
    p.allow_anonymous = l.listener_allow_anonymous;
    if (config.per_listener_settings) {
      p.domain = domains.size();
      domains.push_back(loader.domain(l.security));
    }
    policies.push_back(p);
  }
  if (out.errors.empty()) {
    out.security =
        std::make_shared<const FileSecurity>(std::move(domains), std::move(policies), options);
  }
  return out;
}

Result<std::shared_ptr<const broker::Security>> make_security(const config::Config& config,
                                                              const SecurityOptions& options,
                                                              std::vector<std::string>* warnings) {
  SecurityLoad load = load_security(config, options);
  if (warnings) {
    warnings->insert(warnings->end(), load.warnings.begin(), load.warnings.end());
    warnings->insert(warnings->end(), load.line_problems.begin(), load.line_problems.end());
  }
  if (!load.errors.empty()) {
    std::string all;
    for (const auto& e : load.errors) {
      if (!all.empty()) all += '\n';
      all += e;
    }
    return make_error(0, std::move(all));
  }
  return std::shared_ptr<const broker::Security>(std::move(load.security));
}

}  // namespace petrel::auth
