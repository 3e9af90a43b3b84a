// libFuzzer target: acl_file (auth/acl_file.h) and the filter algebra its SUBSCRIBE
// decision uses (auth/filter_algebra.h). A file that parses is then asked about probe
// clients, topics and filters built from its own lines (the names of its `user` lines, its
// rule topics with the wildcards filled in and %c/%u substituted), and must keep the
// promise of its header: a filter is refused only when no topic it matches could be read,
// so whenever a topic may be read, every filter matching that topic may be subscribed.
// The filter algebra is checked on the same probes: an intersection is matched by both
// filters' topics, and a filter that covers another matches every topic the other does.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "auth/acl_file.h"
#include "auth/file_text.h"
#include "auth/filter_algebra.h"
#include "fuzz_check.h"
#include "protocol/topic.h"

using namespace petrel::auth;
using petrel::broker::Access;
namespace pr = petrel::protocol;

namespace {

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
  return s;
}

// The rule's topic with each wildcard level made concrete.
std::string concrete(std::string filter) {
  filter = replace_all(std::move(filter), "+", "x");
  return replace_all(std::move(filter), "#", "y/z");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto acl = AclFile::parse(text, "acl");
  if (!acl.ok()) {
    FUZZ_CHECK(acl.error().message.rfind("acl:", 0) == 0);
    return 0;
  }

  std::vector<std::string> users = {""}, rule_filters = {"#", "+/+", "$SYS/#"};
  for_each_line(text, [&](int, std::string_view line) {
    std::string_view t = trim(line);
    const size_t blank = t.find_first_of(" \t");
    if (blank == std::string_view::npos) return;
    const std::string_view word = t.substr(0, blank);
    const std::string_view rest = trim(t.substr(blank));
    if (word == "user") users.emplace_back(rest);
    if (word != "topic" && word != "pattern") return;
    std::string_view topic = rest;
    for (std::string_view access : {"read ", "write ", "readwrite ", "deny "})
      if (topic.rfind(access, 0) == 0) topic = trim(topic.substr(access.size()));
    rule_filters.emplace_back(topic);
  });
  if (users.size() > 4) users.resize(4);
  if (rule_filters.size() > 8) rule_filters.resize(8);

  for (const std::string& user : users) {
    const std::string client = user.empty() ? "c1" : user;
    std::vector<std::string> topics, filters;
    for (const std::string& rf : rule_filters) {
      std::string f = replace_all(replace_all(rf, "%c", client), "%u", user);
      if (pr::valid_topic_filter(f) && f.rfind("$share/", 0) != 0) filters.push_back(f);
      std::string t = concrete(f);
      if (pr::valid_topic_name(t)) topics.push_back(t);
    }
    for (const std::string& t : topics) {
      const bool readable = acl->allowed(client, user, t, Access::kRead);
      (void)acl->allowed(client, user, t, Access::kWrite);
      for (const std::string& f : filters) {
        const bool granted = acl->subscribe_allowed(client, user, f);
        FUZZ_CHECK(granted == acl->allowed(client, user, f, Access::kSubscribe));
        if (readable && pr::topic_matches(f, t)) FUZZ_CHECK(granted);
      }
    }
    for (const std::string& f : filters) {
      for (const std::string& g : filters) {
        const auto both = filter_intersection(f, g);
        const bool covers = filter_covers(f, g);
        if (covers) FUZZ_CHECK(both.has_value() || !pr::valid_topic_filter(g));
        if (both) FUZZ_CHECK(pr::valid_topic_filter(*both));
        for (const std::string& t : topics) {
          const bool in_f = pr::topic_matches(f, t), in_g = pr::topic_matches(g, t);
          if (both) FUZZ_CHECK(pr::topic_matches(*both, t) == (in_f && in_g));
          else FUZZ_CHECK(!(in_f && in_g));
          if (covers && in_g) FUZZ_CHECK(in_f);
        }
      }
    }
  }
  return 0;
}
