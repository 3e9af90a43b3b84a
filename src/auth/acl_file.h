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
//
// Decision for SUBSCRIBE (Petrel's rule; Mosquitto 2.0's acl_file grants every SUBSCRIBE,
// see below). A filter is refused (SUBACK 0x80 in v3.1.1, 0x87 in v5) when no topic it
// can match could ever be read under the decision above, judged rule by rule:
//  - for each read or readwrite grant G the client could use (its own `topic` rules, then
//    the `pattern` rules with %c/%u substituted, unless step 2 above shuts them out),
//    take the topics both the filter and G match (filter_intersection: both may hold
//    wildcards; '$' topics only meet rules written with '$');
//  - that part is reachable unless one `deny` rule that is consulted before G (the
//    client's own denies; for a pattern grant also the pattern denies) covers all of it;
//  - the filter is granted when some part is reachable, otherwise refused.
// So with `topic read a/#` and `topic deny a/secret/#`: "a/#", "+/x" and "#" are granted,
// "b/#", "a/secret/+" and "$SYS/#" refused. An anonymous client uses only the `topic`
// lines before the first `user` line (and %c patterns), an unlisted user only patterns.
// The rule errs towards granting: a part denied only piecewise by several deny rules
// together still grants (its messages are then all filtered out). Whatever SUBSCRIBE
// decided, each delivered message (retained ones included) is still checked for read,
// so a reloaded ACL governs existing subscriptions.
// Mosquitto 2.0.11 differs: its acl_file answers every SUBSCRIBE with success ("FIXME -
// implement ACL subscription strings" in mosquitto_acl_check_default; checked: SUBACK 0
// for "b/#", "#" and "$SYS/#" from a user granted only "a/#") and relies on the read
// check per message alone.
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
  // kRead / kWrite: the topic decision (no allocation). kSubscribe: topic is a filter
  // (without any "$share/group/" prefix) and this is subscribe_allowed().
  bool allowed(std::string_view client_id, std::string_view username, std::string_view topic,
               broker::Access access) const;
  // The SUBSCRIBE decision above for a valid filter. Allocates.
  bool subscribe_allowed(std::string_view client_id, std::string_view username,
                         std::string_view filter) const;
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
  // The client's own rules: its user section, the anonymous section, or none.
  const RuleList* own_rules(std::string_view username) const;
  // May pattern rules apply to this client (step 2 above)?
  bool patterns_apply(std::string_view client_id, std::string_view username) const;
  // 1 granted, -1 denied, 0 no rule decided.
  static int decide(const RuleList& list, std::string_view client_id, std::string_view username,
                    std::string_view topic, uint8_t want);

  RuleList anonymous_;
  std::unordered_map<std::string, RuleList, StringHash, std::equal_to<>> users_;
  RuleList patterns_;
  std::vector<std::string> warnings_;
};

}  // namespace petrel::auth
