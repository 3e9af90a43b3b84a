#include "web/router.h"

#include <algorithm>
#include <stdexcept>

namespace petrel::web {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool changes_state_by_default(std::string_view method) {
  return method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE";
}

// Splits "/a/b/c" into views of "a", "b", "c" (the leading '/' is required by the caller).
std::vector<std::string_view> split_segments(std::string_view path) {
  std::vector<std::string_view> out;
  path.remove_prefix(1);
  for (;;) {
    size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view text, bool plus_as_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      const int hi = hex_value(text[i + 1]), lo = hex_value(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += char(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_as_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

Result<std::map<std::string, std::string, std::less<>>> parse_query(std::string_view query) {
  std::map<std::string, std::string, std::less<>> out;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    auto key = percent_decode(part.substr(0, eq), true);
    auto value = percent_decode(eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1), true);
    if (!key || !value) return make_error(0, "malformed percent-encoding in query parameter '" + std::string(part) + "'");
    out[std::move(*key)] = std::move(*value);
  }
  return out;
}

std::vector<Router::Segment> Router::parse_pattern(std::string_view pattern) {
  if (pattern.empty() || pattern[0] != '/') {
    throw std::invalid_argument("route pattern '" + std::string(pattern) + "' must start with '/'");
  }
  std::vector<Segment> out;
  const auto parts = split_segments(pattern);
  for (size_t i = 0; i < parts.size(); ++i) {
    std::string_view p = parts[i];
    if (p.size() >= 2 && p.front() == '{' && p.back() == '}') {
      std::string_view name = p.substr(1, p.size() - 2);
      const bool rest = name.size() > 3 && name.substr(name.size() - 3) == "...";
      if (rest) name.remove_suffix(3);
      if (name.empty() || name.find_first_of("{}/") != std::string_view::npos) {
        throw std::invalid_argument("route pattern '" + std::string(pattern) + "': bad parameter '" + std::string(p) + "'");
      }
      if (rest && i + 1 != parts.size()) {
        throw std::invalid_argument("route pattern '" + std::string(pattern) + "': '{" + std::string(name) +
                                    "...}' must be the last segment");
      }
      out.push_back({rest ? SegmentKind::kRest : SegmentKind::kParam, std::string(name)});
    } else {
      if (p.find_first_of("{}") != std::string_view::npos) {
        throw std::invalid_argument("route pattern '" + std::string(pattern) + "': bad segment '" + std::string(p) + "'");
      }
      out.push_back({SegmentKind::kLiteral, std::string(p)});
    }
  }
  return out;
}

void Router::add(std::string method, std::string_view pattern, Handler handler, RouteOptions options) {
  const bool state_changing = options.state_changing.value_or(changes_state_by_default(method));
  if (state_changing && (method == "GET" || method == "HEAD")) {
    // Browsers send GET cross-site freely (links, images): it must never change anything.
    throw std::invalid_argument(method + " " + std::string(pattern) + ": a GET or HEAD route cannot be state-changing");
  }
  if (!handler) throw std::invalid_argument(method + " " + std::string(pattern) + ": no handler");
  auto it = std::find_if(patterns_.begin(), patterns_.end(), [&](const Pattern& p) { return p.text == pattern; });
  if (it == patterns_.end()) {
    patterns_.push_back({std::string(pattern), parse_pattern(pattern), {}});
    it = patterns_.end() - 1;
  }
  for (const Route& r : it->routes) {
    if (r.method == method) throw std::invalid_argument(method + " " + std::string(pattern) + ": added twice");
  }
  it->routes.push_back({std::move(method), std::move(handler), options.public_route, state_changing});
}

RouteMatch Router::match(std::string_view method, std::string_view raw_path) const {
  RouteMatch result;
  if (raw_path.empty() || raw_path[0] != '/') {
    result.kind = RouteMatch::Kind::kBadPath;
    return result;
  }
  const auto raw = split_segments(raw_path);
  std::vector<std::string> decoded;
  decoded.reserve(raw.size());
  for (std::string_view s : raw) {
    auto d = percent_decode(s);
    if (!d) {
      result.kind = RouteMatch::Kind::kBadPath;
      return result;
    }
    decoded.push_back(std::move(*d));
  }

  // The best pattern: the smallest sequence of segment kinds, compared left to right.
  const Pattern* best = nullptr;
  std::vector<SegmentKind> best_rank;
  std::vector<Header> best_params;
  for (const Pattern& p : patterns_) {
    std::vector<Header> params;
    std::vector<SegmentKind> rank;
    bool ok = true;
    size_t i = 0;
    for (; ok && i < p.segments.size(); ++i) {
      const Segment& seg = p.segments[i];
      rank.push_back(seg.kind);
      if (seg.kind == SegmentKind::kRest) {
        if (i >= raw.size()) {
          ok = false;
          break;
        }
        // The remainder from this segment's first byte to the end, decoded as one piece.
        const size_t offset = size_t(raw[i].data() - raw_path.data());
        auto rest = percent_decode(raw_path.substr(offset));
        ok = rest && !rest->empty();
        if (ok) params.emplace_back(seg.text, std::move(*rest));
        i = raw.size();
        break;
      }
      if (i >= raw.size()) ok = false;
      else if (seg.kind == SegmentKind::kLiteral) ok = decoded[i] == seg.text;
      else if (decoded[i].empty()) ok = false;
      else params.emplace_back(seg.text, decoded[i]);
    }
    if (!ok || i != raw.size()) continue;
    if (best == nullptr || rank < best_rank) {
      best = &p;
      best_rank = std::move(rank);
      best_params = std::move(params);
    }
  }
  if (best == nullptr) return result;

  const Route* get = nullptr;
  for (const Route& r : best->routes) {
    if (r.method == method) {
      result.kind = RouteMatch::Kind::kFound;
      result.route = &r;
      result.params = std::move(best_params);
      return result;
    }
    if (r.method == "GET") get = &r;
  }
  if (method == "HEAD" && get != nullptr) {
    result.kind = RouteMatch::Kind::kFound;
    result.route = get;
    result.params = std::move(best_params);
    return result;
  }
  result.kind = RouteMatch::Kind::kMethodNotAllowed;
  for (const Route& r : best->routes) {
    if (!result.allow.empty()) result.allow += ", ";
    result.allow += r.method;
    if (r.method == "GET") result.allow += ", HEAD";
  }
  return result;
}

}  // namespace petrel::web
