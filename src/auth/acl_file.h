#pragma once
// AclFile: the rules of a Mosquitto `acl_file`, grouped per user when loaded so a check
// touches only the rules that can apply. Immutable after parse; safe to share.
//
// Format (Mosquitto 2.0):
//   # comment                      blank lines too
//   topic [read|write|readwrite|deny] TOPIC     access defaults to readwrite
//   user NAME                      the following `topic` lines apply to NAME
//   pattern [read|write|readwrite|deny] TOPIC   %c = client id, %u = username; for all clients
// `topic` lines before the first `user` line apply to anonymous clients. TOPIC is the
// rest of the line (it may contain spaces) and must be a valid topic filter. Repeated
// `user NAME` sections add to one another. Errors are `file:line: what is wrong`; a
// pattern without %c or %u is accepted with a warning, as in Mosquitto.
//
// Decision for PUBLISH (write) and delivery (read), in Mosquitto 2.0's order:
//  1. the client's own `topic` rules (its user section, or the anonymous section when it
//     has no username): a matching `deny` refuses; otherwise a matching rule whose access
//     includes the request grants. So a user's grant is final even if a pattern denies.
//  2. when patterns exist and the username or client id contains '+' or '#', refuse;
//  3. the `pattern` rules the same way (deny first, then grants);
//  4. otherwise refuse. An empty file refuses everything.
// SUBSCRIBE is not checked against the file: Mosquitto 2.0's acl_file grants every
// SUBSCRIBE and UNSUBSCRIBE ("FIXME - implement ACL subscription strings" in its source;
// checked: a SUBSCRIBE to an ungranted filter gets SUBACK 0 from Mosquitto 2.0.11) and
// filters each delivered message with a read check instead. allowed() does the same.
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "auth/acl_rule.h"
#include "auth/file_text.h"
#include "broker/security.h"
#include "common/result.h"

namespace petrel::auth {

class AclFile {
 public:
  static Result<AclFile> parse(std::string_view text, std::string_view name);
  static Result<AclFile> load(const std::string& path);

  // The decision above. username empty = anonymous. No allocation.
  bool allowed(std::string_view client_id, std::string_view username, std::string_view topic,
               broker::Access access) const;
  // True when a `user NAME` line names this user (even with no rules under it).
  bool names_user(std::string_view user) const { return users_.find(user) != users_.end(); }
  // Non-fatal remarks from parsing (`file:line: ...`).
  const std::vector<std::string>& warnings() const { return warnings_; }

  // One client's rules, `deny` rules first (they are checked before grants).
  struct RuleList {
    std::vector<AclRule> rules;
    size_t deny_count = 0;
    void add(AclRule rule);
  };

 private:
  // 1 granted, -1 denied, 0 no rule decided.
  static int decide(const RuleList& list, std::string_view client_id, std::string_view username,
                    std::string_view topic, uint8_t want);

  RuleList anonymous_;
  std::unordered_map<std::string, RuleList, StringHash, std::equal_to<>> users_;
  RuleList patterns_;
  std::vector<std::string> warnings_;
};

}  // namespace petrel::auth
