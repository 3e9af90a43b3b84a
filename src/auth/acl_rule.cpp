#include "auth/acl_rule.h"

namespace petrel::auth {

void AclRule::add_template(Level& level, std::string_view s) {
  // Split the level into literal runs and %c / %u markers.
  level.first_part = static_cast<uint32_t>(parts_.size());
  const uint32_t base = level.offset;
  uint32_t run = 0;  // start of the current literal run, relative to the level
  for (uint32_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%' || i + 1 >= s.size() || (s[i + 1] != 'c' && s[i + 1] != 'u')) continue;
    if (i > run) parts_.push_back({Piece::kText, base + run, i - run});
    bool cid = s[i + 1] == 'c';
    parts_.push_back({cid ? Piece::kClientId : Piece::kUsername, 0, 0});
    (cid ? uses_client_id_ : uses_username_) = true;
    ++i;
    run = i + 1;
  }
  if (run < s.size())
    parts_.push_back({Piece::kText, base + run, static_cast<uint32_t>(s.size()) - run});
  level.part_count = static_cast<uint32_t>(parts_.size()) - level.first_part;
}

bool AclRule::compile(std::string_view text, bool pattern, uint8_t access, AclRule& out,
                      std::string& why) {
  out = AclRule{};
  out.text_.assign(text);
  out.access_ = access;
  out.dollar_ = !text.empty() && text.front() == '$';
  if (text.empty() || text.size() > 65535) {
    why = text.empty() ? "empty topic" : "topic longer than 65535 bytes";
    return false;
  }
  uint32_t start = 0;
  const auto n = static_cast<uint32_t>(text.size());
  while (start <= n) {
    uint32_t end = start;
    while (end < n && text[end] != '/') ++end;
    std::string_view s = text.substr(start, end - start);
    Level level{Kind::kLiteral, start, end - start};
    if (s == "+") {
      level.kind = Kind::kPlus;
    } else if (s == "#") {
      if (end != n) {
        why = "'#' must be the last level";
        return false;
      }
      level.kind = Kind::kHash;
    } else if (s.find_first_of("+#") != std::string_view::npos) {
      why = "'+' and '#' must stand alone in a level";
      return false;
    } else if (pattern &&
               (s.find("%c") != std::string_view::npos || s.find("%u") != std::string_view::npos)) {
      level.kind = Kind::kTemplate;
      out.add_template(level, s);
    }
    out.levels_.push_back(level);
    start = end + 1;
  }
  return true;
}

bool AclRule::level_matches(const Level& l, std::string_view level, std::string_view client_id,
                            std::string_view username) const {
  switch (l.kind) {
    case Kind::kPlus:
      return true;
    case Kind::kLiteral:
      return level == level_text(l);
    case Kind::kHash:
      return true;
    case Kind::kTemplate:
      break;
  }
  for (uint32_t i = 0; i < l.part_count; ++i) {
    const Part& p = parts_[l.first_part + i];
    std::string_view want = p.piece == Piece::kText
                                ? std::string_view(text_.data() + p.offset, p.length)
                            : p.piece == Piece::kClientId ? client_id
                                                          : username;
    if (!level.starts_with(want)) return false;
    level.remove_prefix(want.size());
  }
  return level.empty();
}

bool AclRule::matches(std::string_view topic, std::string_view client_id,
                      std::string_view username) const {
  if (topic.empty()) return false;
  if ((topic.front() == '$') != dollar_) return false;
  if (uses_username_ && username.empty()) return false;
  size_t pos = 0;
  bool exhausted = false;  // every topic level consumed
  for (const Level& l : levels_) {
    if (l.kind == Kind::kHash) return true;  // also matches the parent ("a/#" vs "a")
    if (exhausted) return false;
    size_t slash = topic.find('/', pos);
    std::string_view level =
        topic.substr(pos, slash == std::string_view::npos ? topic.npos : slash - pos);
    if (!level_matches(l, level, client_id, username)) return false;
    if (slash == std::string_view::npos) {
      exhausted = true;
    } else {
      pos = slash + 1;
    }
  }
  return exhausted;
}

bool AclRule::resolve(std::string_view client_id, std::string_view username,
                      std::string& out) const {
  out.clear();
  if (!uses_client_id_ && !uses_username_) {
    out = text_;
    return true;
  }
  if (uses_username_ && username.empty()) return false;
  auto usable = [](std::string_view v) { return v.find_first_of("/+#") == std::string_view::npos; };
  if ((uses_client_id_ && !usable(client_id)) || (uses_username_ && !usable(username))) return false;
  for (size_t li = 0; li < levels_.size(); ++li) {
    const Level& l = levels_[li];
    if (li) out += '/';
    if (l.kind != Kind::kTemplate) {
      out += level_text(l);
      continue;
    }
    for (uint32_t i = 0; i < l.part_count; ++i) {
      const Part& p = parts_[l.first_part + i];
      out += p.piece == Piece::kText       ? std::string_view(text_.data() + p.offset, p.length)
             : p.piece == Piece::kClientId ? client_id
                                           : username;
    }
  }
  return dollar_ || out.empty() || out.front() != '$';
}

}  // namespace petrel::auth
