#include "web/static_files.h"

#include <zlib.h>

#include <cctype>

#include "web/json.h"
#include "web/router.h"

namespace petrel::web {
namespace {

constexpr std::string_view kImmutable = "public, max-age=31536000, immutable";
constexpr std::string_view kRevalidate = "no-cache";

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Calls f(item) for each comma-separated item of a header value, trimmed.
template <class F>
void for_each_item(std::string_view value, F f) {
  while (!value.empty()) {
    const size_t comma = value.find(',');
    std::string_view item = trim(value.substr(0, comma));
    if (!item.empty()) f(item);
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
}

// "q=0", "q=0.0", "q=0.000" (any case, blanks around '=' allowed).
bool zero_quality(std::string_view params) {
  while (!params.empty()) {
    const size_t semi = params.find(';');
    std::string_view p = trim(params.substr(0, semi));
    params = semi == std::string_view::npos ? std::string_view{} : params.substr(semi + 1);
    const size_t eq = p.find('=');
    if (eq == std::string_view::npos || !iequals(trim(p.substr(0, eq)), "q")) continue;
    std::string_view v = trim(p.substr(eq + 1));
    if (v.empty() || v[0] != '0') return false;
    for (char c : v.substr(1))
      if (c != '.' && c != '0') return false;
    return true;
  }
  return false;
}

}  // namespace

bool accepts_gzip(std::string_view accept_encoding) {
  bool ok = false;
  for_each_item(accept_encoding, [&](std::string_view item) {
    const size_t semi = item.find(';');
    const std::string_view coding = trim(item.substr(0, semi));
    const std::string_view params = semi == std::string_view::npos ? std::string_view{} : item.substr(semi + 1);
    if (iequals(coding, "gzip") || iequals(coding, "x-gzip") || coding == "*") ok = ok || !zero_quality(params);
  });
  return ok;
}

bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  bool match = false;
  for_each_item(if_none_match, [&](std::string_view item) {
    if (item.starts_with("W/")) item.remove_prefix(2);  // weak comparison (RFC 9110 13.1.2)
    match = match || item == "*" || item == etag;
  });
  return match;
}

Result<std::string> gunzip(std::span<const unsigned char> data) {
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) return make_error(0, "inflateInit2 failed");
  z.next_in = const_cast<unsigned char*>(data.data());
  z.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char buf[16384];
  int rc = Z_OK;
  while (rc == Z_OK) {
    z.next_out = reinterpret_cast<unsigned char*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(buf, sizeof buf - z.avail_out);
    if (rc == Z_BUF_ERROR && z.avail_in == 0) break;  // truncated input
  }
  inflateEnd(&z);
  if (rc != Z_STREAM_END) return make_error(0, "corrupt gzip data");
  return out;
}

Response static_response(const UiAsset& asset, const Request& req) {
  Response r;
  r.headers.emplace_back("Cache-Control", std::string(asset.immutable ? kImmutable : kRevalidate));
  r.headers.emplace_back("ETag", std::string(asset.etag));
  r.headers.emplace_back("Vary", "Accept-Encoding");
  if (etag_matches(req.header("If-None-Match"), asset.etag)) {
    r.status = 304;
    return r;
  }
  r.content_type = std::string(asset.content_type);
  if (accepts_gzip(req.header("Accept-Encoding"))) {
    r.headers.emplace_back("Content-Encoding", "gzip");
    r.body.assign(reinterpret_cast<const char*>(asset.gzip.data()), asset.gzip.size());
    return r;
  }
  auto plain = gunzip(asset.gzip);
  if (!plain) return error_response(500, "embedded file " + std::string(asset.path) + ": " + plain.error().message);
  r.body = std::move(*plain);
  return r;
}

void add_static_routes(Router& router, std::span<const UiAsset> assets) {
  const RouteOptions pub{.public_route = true, .state_changing = std::nullopt};
  for (const UiAsset& a : assets) {
    router.add("GET", a.path, [&a](Request& req, std::shared_ptr<Reply> reply) { reply->send(static_response(a, req)); },
               pub);
  }
  router.add("GET", "/assets/{path...}", [](Request&, std::shared_ptr<Reply> reply) {
    reply->send(error_response(404, "not found (reload the page: the admin pages were updated)"));
  }, pub);
}

}  // namespace petrel::web
