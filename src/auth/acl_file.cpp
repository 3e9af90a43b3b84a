#include "auth/acl_file.h"

#include <fmt/core.h>

#include <utility>

#include "auth/filter_algebra.h"

namespace petrel::auth {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t'; }

// The first blank-separated word of s; s keeps the rest, trimmed.
std::string_view next_word(std::string_view& s) {
  size_t end = 0;
  while (end < s.size() && !is_blank(s[end])) ++end;
  std::string_view word = s.substr(0, end);
  s = trim(s.substr(end));
  return word;
}

bool parse_access(std::string_view word, uint8_t& access) {
  static constexpr std::pair<std::string_view, uint8_t> kWords[] = {
      {"read", kAclRead}, {"write", kAclWrite}, {"readwrite", kAclReadWrite}, {"deny", kAclDeny}};
  for (const auto& [name, bits] : kWords) {
    if (word == name) {
      access = bits;
      return true;
    }
  }
  return false;
}

}  // namespace

void AclFile::RuleList::add(AclRule rule) {
  if (rule.access() == kAclDeny) {
    rules.insert(rules.begin() + static_cast<std::ptrdiff_t>(deny_count), std::move(rule));
    ++deny_count;
  } else {
    rules.push_back(std::move(rule));
  }
}

Result<AclFile> AclFile::parse(std::string_view text, std::string_view name) {
  AclFile f;
  Diagnostics diag(name);
  bool in_user = false;
  std::string user;
  for_each_line(text, [&](int n, std::string_view raw) {
    std::string_view rest = trim(raw);
    if (rest.empty() || rest.front() == '#') return;
    std::string_view keyword = next_word(rest);
    if (keyword == "user") {
      if (rest.empty()) return diag.error(n, "'user' needs a user name");
      in_user = true;
      user.assign(rest);
      f.users_.try_emplace(user);
      return;
    }
    if (keyword != "topic" && keyword != "pattern") {
      return diag.error(
          n, "unknown keyword '" + std::string(keyword) + "' (expected topic, pattern or user)");
    }
    const bool pattern = keyword == "pattern";
    if (rest.empty()) return diag.error(n, fmt::format("'{}' needs a topic", keyword));
    std::string_view first = next_word(rest);
    uint8_t access = kAclReadWrite;
    std::string_view topic = first;
    if (!rest.empty()) {
      // Two or more words: the first is the access, the rest the topic (Mosquitto).
      if (!parse_access(first, access)) {
        return diag.error(n, "invalid access '" + std::string(first) +
                                 "' (expected read, write, readwrite or deny)");
      }
      topic = rest;
    }
    AclRule rule;
    std::string why;
    if (!AclRule::compile(topic, pattern, access, rule, why)) {
      return diag.error(n, "invalid topic '" + std::string(topic) + "': " + why);
    }
    if (pattern) {
      if (!rule.uses_client_id() && !rule.uses_username()) {
        diag.warning(n, "pattern '" + std::string(topic) + "' contains neither %c nor %u");
      }
      f.patterns_.add(std::move(rule));
    } else if (in_user) {
      f.users_[user].add(std::move(rule));
    } else {
      f.anonymous_.add(std::move(rule));
    }
  });
  if (!diag.ok()) return diag.to_error();
  f.warnings_ = std::move(diag.warnings());
  return f;
}

Result<AclFile> AclFile::load(const std::string& path) {
  auto text = read_text_file(path);
  if (!text) return text.error();
  return parse(*text, path);
}

int AclFile::decide(const RuleList& list, std::string_view client_id, std::string_view username,
                    std::string_view topic, uint8_t want) {
  for (size_t i = 0; i < list.rules.size(); ++i) {
    const AclRule& r = list.rules[i];
    if (!r.matches(topic, client_id, username)) continue;
    if (i < list.deny_count) return -1;
    if (r.access() & want) return 1;
  }
  return 0;
}

const AclFile::RuleList* AclFile::own_rules(std::string_view username) const {
  if (username.empty()) return &anonymous_;
  auto it = users_.find(username);
  return it != users_.end() ? &it->second : nullptr;
}

bool AclFile::patterns_apply(std::string_view client_id, std::string_view username) const {
  // A '+' or '#' in a substituted value could turn a pattern into a wider filter.
  return !patterns_.rules.empty() && client_id.find_first_of("+#") == std::string_view::npos &&
         username.find_first_of("+#") == std::string_view::npos;
}

bool AclFile::allowed(std::string_view client_id, std::string_view username, std::string_view topic,
                      broker::Access access) const {
  if (access == broker::Access::kSubscribe) return subscribe_allowed(client_id, username, topic);
  const uint8_t want = access == broker::Access::kRead ? kAclRead : kAclWrite;
  if (const RuleList* own = own_rules(username)) {
    int d = decide(*own, client_id, username, topic, want);
    if (d != 0) return d > 0;
  }
  if (!patterns_apply(client_id, username)) return false;
  return decide(patterns_, client_id, username, topic, want) > 0;
}

bool AclFile::subscribe_allowed(std::string_view client_id, std::string_view username,
                                std::string_view filter) const {
  // The deny rules consulted before a grant, as filters for this client.
  std::vector<std::string> denies;
  std::string text;
  auto add_denies = [&](const RuleList& list) {
    for (size_t i = 0; i < list.deny_count; ++i) {
      if (list.rules[i].resolve(client_id, username, text)) denies.push_back(text);
    }
  };
  // True when some topic of `filter` that the grants of `list` match escapes `denies`.
  auto reachable = [&](const RuleList& list) {
    for (size_t i = list.deny_count; i < list.rules.size(); ++i) {
      const AclRule& r = list.rules[i];
      if (!(r.access() & kAclRead) || !r.resolve(client_id, username, text)) continue;
      auto part = filter_intersection(filter, text);
      if (!part) continue;
      bool covered = false;
      for (const auto& d : denies) {
        if (filter_covers(d, *part)) {
          covered = true;
          break;
        }
      }
      if (!covered) return true;
    }
    return false;
  };
  if (const RuleList* own = own_rules(username)) {
    add_denies(*own);
    if (reachable(*own)) return true;
  }
  if (!patterns_apply(client_id, username)) return false;
  add_denies(patterns_);
  return reachable(patterns_);
}

}  // namespace petrel::auth
