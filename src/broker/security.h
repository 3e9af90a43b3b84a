#pragma once
// Security: what the broker core asks about authentication and authorisation. The core
// depends only on this interface; src/auth implements it from password, PSK and ACL
// files (and later the web admin). One instance is shared by all workers and replaced
// as a whole on reload, so implementations must be immutable after construction and
// safe to call from any thread.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace petrel::broker {

// Who a connecting client is, as far as the transport and CONNECT tell.
struct ClientIdentity {
  int listener = -1;                      // index in Config::listeners
  std::string_view client_id;
  std::optional<std::string_view> username;
  std::optional<std::string_view> password;  // binary
  std::string_view peer;                  // "addr:port", for logs
  // From the transport (TLS): the certificate's subject CN / full subject, or the PSK
  // identity. Empty when there is none.
  std::string_view cert_cn;
  std::string_view cert_subject;
  std::string_view psk_identity;
};

enum class Access : uint8_t { kRead = 1, kWrite = 2, kSubscribe = 4 };

class Security {
 public:
  virtual ~Security() = default;
  // Decides a CONNECT. Returns 0 to accept, or the v5 reason code to refuse with:
  // 0x86 bad user name or password, 0x87 not authorised. May set `username_out` when the
  // identity comes from the transport (use_identity_as_username / use_subject_as_username).
  virtual uint8_t authenticate(const ClientIdentity& id, std::string& username_out) const = 0;
  // Topic access for an authenticated client (username empty = anonymous). Called on
  // PUBLISH (kWrite), SUBSCRIBE (kSubscribe, with the filter) and delivery (kRead).
  virtual bool allowed(int listener, std::string_view client_id, std::string_view username,
                       std::string_view topic, Access access) const = 0;
  // True when any ACL is configured; when false the core skips allowed() entirely.
  virtual bool has_acl() const = 0;
};

}  // namespace petrel::broker
