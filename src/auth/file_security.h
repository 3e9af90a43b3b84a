#pragma once
// FileSecurity: broker::Security from mosquitto.conf's password_file, acl_file and
// psk_file (global, or per listener with per_listener_settings) and each listener's
// use_identity_as_username / use_subject_as_username. Owns the loaded files; immutable
// after construction, shared by all workers and replaced as a whole on reload
// (load_security() builds the new one; a broken file leaves the caller with the old).
//
// CONNECT decisions (checked against Mosquitto 2.0.11 where noted):
// - Identity listeners (use_identity_as_username: the PSK identity, or else the client
//   certificate's CN; use_subject_as_username: the certificate's subject): the identity
//   replaces any CONNECT username and the password file is not consulted. No identity
//   -> 0x86 (0x87 when a certificate without CN was presented), as Mosquitto does.
//   Petrel's certificate-identity mode (SecurityOptions::identity_must_be_known),
//   unlike Mosquitto: when the listener has a password_file or an acl_file, the identity
//   must also be a known user, listed in the password file or named by a `user` line of
//   the ACL file, or the client gets 0x87. So "only the client whose certificate CN is
//   configured" holds even for a CN the CA signed for someone else.
// - No username: accepted when allow_anonymous, else 0x87.
// - Username with a password_file: the user must be listed and the password must match,
//   else SecurityOptions::bad_credentials_reason (0x86; Mosquitto 2.0.11 sends 0x87).
//   This holds even when allow_anonymous is true.
// - Username without a password_file: accepted only when allow_anonymous is true.
//   Mosquitto 2.0.11 refuses such a client with 0x87 when allow_anonymous is false
//   (nothing checked the name, so it proves nothing), and so does Petrel.
// Topic decisions: see acl_file.h. A listener with no acl_file allows everything.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/acl_file.h"
#include "auth/password_file.h"
#include "auth/psk_file.h"
#include "broker/security.h"
#include "common/result.h"
#include "config/config.h"

namespace petrel::auth {

struct SecurityOptions {
  // Petrel's certificate-identity mode (see above). The mosquitto.conf option that turns
  // it on is the lead's to name.
  bool identity_must_be_known = false;
  // CONNACK reason for an unknown user or a wrong password. MQTT 5 says 0x86 (v3.1.1
  // return code 4); Mosquitto 2.0.11 answers 0x87 (v3.1.1: 5).
  uint8_t bad_credentials_reason = 0x86;
};

class FileSecurity final : public broker::Security {
 public:
  // What applies to connections on one listener (or to all, without per-listener settings).
  struct Domain {
    bool allow_anonymous = false;
    std::shared_ptr<const PasswordFile> passwords;  // null: no password_file
    std::shared_ptr<const AclFile> acl;             // null: no acl_file
    std::shared_ptr<const PskFile> psk;             // null: no psk_file
  };
  struct ListenerPolicy {
    size_t domain = 0;
    bool identity_as_username = false;
    bool subject_as_username = false;
    bool identity_must_be_known = false;  // the listener's require_known_identity
    std::optional<bool> allow_anonymous;   // listener_allow_anonymous, over the domain's
  };

  // domains[0] serves listener indexes outside `listeners` (as the core falls back to the
  // global settings).
  FileSecurity(std::vector<Domain> domains, std::vector<ListenerPolicy> listeners,
               SecurityOptions options);

  uint8_t authenticate(const broker::ClientIdentity& id, std::string& username_out) const override;
  bool allowed(int listener, std::string_view client_id, std::string_view username,
               std::string_view topic, broker::Access access) const override;
  bool has_acl() const override { return has_acl_; }

  // The TLS-PSK key for identity on a listener, or nullptr (unknown identity, no psk_file).
  const std::vector<uint8_t>* psk_key(int listener, std::string_view identity) const;

 private:
  const Domain& domain_of(int listener) const;
  const ListenerPolicy& policy_of(int listener) const;
  uint8_t authenticate_identity(const broker::ClientIdentity& id, const ListenerPolicy& policy,
                                const Domain& d, std::string& username_out) const;

  std::vector<Domain> domains_;
  std::vector<ListenerPolicy> listeners_;
  ListenerPolicy fallback_;
  SecurityOptions options_;
  bool has_acl_ = false;
};

// Everything that loading produced: the new instance when every file loaded, otherwise
// every error (`file:line: what is wrong`, one entry per problem).
struct SecurityLoad {
  std::shared_ptr<const FileSecurity> security;
  std::vector<std::string> errors;
  std::vector<std::string> warnings;
  // Password file lines that were not understood (`file:line: ...`; the user on each
  // cannot log in): warnings for the running broker, errors for `--test-config`.
  std::vector<std::string> line_problems;
};

// Loads each distinct file once, however many listeners name it.
SecurityLoad load_security(const config::Config& config, const SecurityOptions& options = {});

// The same as a Result: the error message holds every error, one per line. When
// warnings is given, the warnings and line problems are appended to it.
Result<std::shared_ptr<const broker::Security>> make_security(const config::Config& config,
                                                              const SecurityOptions& options = {},
                                                              std::vector<std::string>* warnings = nullptr);

}  // namespace petrel::auth
