#include "auth/filter_algebra.h"

#include <vector>

namespace petrel::auth {
namespace {

// A filter split into its levels before any '#', and whether it ends in '#'.
struct Split {
  std::vector<std::string_view> levels;
  bool hash = false;
  bool dollar = false;
};

Split split(std::string_view f) {
  Split s;
  s.dollar = !f.empty() && f.front() == '$';
  size_t start = 0;
  for (;;) {
    size_t slash = f.find('/', start);
    std::string_view level = f.substr(start, slash == std::string_view::npos ? f.npos : slash - start);
    if (level == "#") {
      s.hash = true;  // valid filters have '#' last
      break;
    }
    s.levels.push_back(level);
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return s;
}

// One level of each: the level holding what both hold, or nullopt. Neither is '#'.
std::optional<std::string_view> level_intersection(std::string_view a, std::string_view b) {
  if (a == "+") return b;
  if (b == "+") return a;
  if (a == b) return a;
  return std::nullopt;
}

bool level_covers(std::string_view outer, std::string_view inner) {
  return outer == "+" || outer == inner;
}

}  // namespace

std::optional<std::string> filter_intersection(std::string_view a, std::string_view b) {
  const Split x = split(a);
  const Split y = split(b);
  if (x.dollar != y.dollar) return std::nullopt;
  const size_t nx = x.levels.size(), ny = y.levels.size();
  // Without '#', a filter holds topics of exactly its length; with '#' after n levels,
  // topics of at least n levels (and at least one).
  if (!x.hash && !y.hash && nx != ny) return std::nullopt;
  if (!x.hash && y.hash && nx < ny) return std::nullopt;
  if (x.hash && !y.hash && ny < nx) return std::nullopt;
  const Split& longer = nx >= ny ? x : y;
  const size_t common = nx < ny ? nx : ny;
  std::string out;
  for (size_t i = 0; i < longer.levels.size(); ++i) {
    std::string_view level = longer.levels[i];
    if (i < common) {
      auto l = level_intersection(x.levels[i], y.levels[i]);
      if (!l) return std::nullopt;
      level = *l;
    }
    if (i) out += '/';
    out += level;
  }
  if (x.hash && y.hash) {
    // Both open-ended: what is left after the longer prefix is anything.
    if (!longer.levels.empty()) out += '/';
    out += '#';
  }
  // One empty level ("/#" meeting "+") is the empty topic, which does not exist.
  if (out.empty()) return std::nullopt;
  return out;
}

bool filter_covers(std::string_view outer, std::string_view inner) {
  const Split o = split(outer);
  const Split i = split(inner);
  if (o.dollar != i.dollar) return false;
  if (!o.hash) {
    // Exactly o's length: inner must hold only topics of that length.
    if (i.hash || i.levels.size() != o.levels.size()) return false;
    for (size_t k = 0; k < o.levels.size(); ++k) {
      if (!level_covers(o.levels[k], i.levels[k])) return false;
    }
    return true;
  }
  // o holds the topics of at least max(m, 1) levels whose first m levels it matches.
  // inner's shortest topic: its length, or max(prefix, 1) with '#', where a single
  // empty level is the empty topic, which does not exist ("/#" holds "/" at least).
  const size_t m = o.levels.size();
  size_t shortest = i.levels.size();
  if (i.hash) {
    if (shortest == 0) shortest = 1;
    if (shortest == 1 && !i.levels.empty() && i.levels[0].empty()) shortest = 2;
  }
  if (shortest < (m ? m : 1)) return false;
  for (size_t k = 0; k < m; ++k) {
    // Past inner's prefix (behind its '#') any level can come: only '+' holds them all.
    if (k < i.levels.size() ? !level_covers(o.levels[k], i.levels[k]) : o.levels[k] != "+")
      return false;
  }
  return true;
}

}  // namespace petrel::auth
