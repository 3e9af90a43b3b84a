#pragma once
// AclRule: one `topic` or `pattern` line of an ACL file, split into levels when the file
// is loaded, so a check walks the topic once with no allocation.
//
// Matching follows Mosquitto 2.0:
// - '+' matches one level (also an empty one), '#' the rest including none ("a/#"
//   matches "a").
// - A topic starting with '$' is matched only by a rule whose text starts with '$', and a
//   rule starting with '$' only matches such topics: `topic read #` does not grant $SYS.
// - In `pattern` rules "%c" and "%u" stand for the client id and the username anywhere in
//   a level ("p/x%c" matches "p/xdev1" for client dev1; checked against Mosquitto
//   2.0.11). The substitution is compared level by level: a value containing '/' never
//   matches, where Mosquitto 2.0 lets client id "victim/x" match "devices/%c/#" inside
//   client victim's tree. A pattern with "%u" never matches an anonymous client. In
//   `topic` rules "%c"/"%u" are literal text, as in Mosquitto.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace petrel::auth {

// Access bits as in the ACL file; 0 is `deny`.
enum AclAccessBits : uint8_t { kAclDeny = 0, kAclRead = 1, kAclWrite = 2, kAclReadWrite = 3 };

class AclRule {
 public:
  // Compiles a rule. `pattern` selects %c/%u substitution. Returns false (with why set)
  // when text is not a valid topic filter: empty, '+' or '#' sharing a level with other
  // characters, or '#' before the last level.
  static bool compile(std::string_view text, bool pattern, uint8_t access, AclRule& out,
                      std::string& why);

  // Does the rule match topic for this client? username empty = anonymous.
  bool matches(std::string_view topic, std::string_view client_id, std::string_view username) const;
  // The filter this rule stands for with this client: a `pattern` rule's text with %c /
  // %u replaced, a `topic` rule's text as it is. Returns false when the rule matches no
  // topic at all for this client, as matches() decides: %u for an anonymous client, a
  // substituted value holding '/', '+' or '#' (compared as one level's text, it can
  // never equal a topic level), or a substitution that would start a rule not written
  // with '$' with '$'. For SUBSCRIBE decisions; allocates.
  bool resolve(std::string_view client_id, std::string_view username, std::string& out) const;

  uint8_t access() const { return access_; }
  bool uses_client_id() const { return uses_client_id_; }
  bool uses_username() const { return uses_username_; }
  const std::string& text() const { return text_; }

 private:
  enum class Kind : uint8_t { kLiteral, kPlus, kHash, kTemplate };
  enum class Piece : uint8_t { kText, kClientId, kUsername };
  struct Part {
    Piece piece;
    uint32_t offset;  // into text_, for kText
    uint32_t length;
  };
  struct Level {
    Kind kind;
    uint32_t offset;  // the level's text in text_
    uint32_t length;
    uint32_t first_part = 0;  // kTemplate: parts_[first_part, first_part + part_count)
    uint32_t part_count = 0;
  };

  std::string_view level_text(const Level& l) const { return {text_.data() + l.offset, l.length}; }
  bool level_matches(const Level& l, std::string_view level, std::string_view client_id,
                     std::string_view username) const;
  void add_template(Level& level, std::string_view s);

  std::string text_;
  std::vector<Level> levels_;
  std::vector<Part> parts_;
  uint8_t access_ = kAclDeny;
  bool dollar_ = false;
  bool uses_client_id_ = false;
  bool uses_username_ = false;
};

}  // namespace petrel::auth
