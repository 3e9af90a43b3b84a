#pragma once
// Serves the embedded admin pages (ui_assets.h) on public GET routes of the admin API's
// server: the page at "/", its scripts and styles under "/assets/<build hash>/". The API
// stays behind authentication; these files hold no secret (the page logs in through the
// API).
//
// Each file is stored gzip-compressed: sent as it is (Content-Encoding: gzip) to a client
// that accepts gzip, inflated with zlib for one that does not. Files under the build hash
// may be cached for a year (a new build is a new URL); the page itself is revalidated on
// every load (ETag, 304). The server's Content-Security-Policy applies to them as to every
// response: the pages have no inline script or style.
#include <span>
#include <string>
#include <string_view>

#include "common/result.h"
#include "web/reply.h"
#include "web/request.h"
#include "web/ui_assets.h"

namespace petrel::web {

class Router;

// Adds GET (and so HEAD) routes for every asset, and a public 404 for any other path
// under /assets/ (a page of an older build asking for what this build does not have).
// The assets must outlive the router.
void add_static_routes(Router& router, std::span<const UiAsset> assets);

// The response for one asset (exposed for tests).
Response static_response(const UiAsset& asset, const Request& req);
// True when an Accept-Encoding value allows gzip ("gzip", "x-gzip" or "*", without q=0).
bool accepts_gzip(std::string_view accept_encoding);
// True when an If-None-Match value names etag (or is "*").
bool etag_matches(std::string_view if_none_match, std::string_view etag);
// Inflates a gzip member.
Result<std::string> gunzip(std::span<const unsigned char> data);

}  // namespace petrel::web
