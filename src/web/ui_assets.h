#pragma once
// The admin pages (web/ui), embedded in the binary at build time by embed_ui_assets.cmake
// (library petrel_ui_assets): each file gzip-compressed, with its URL path, content type
// and ETag. Nothing is read from disk at run time, so petrel needs nothing beside it.
#include <cstddef>
#include <span>
#include <string_view>

namespace petrel::web {

struct UiAsset {
  std::string_view path;          // "/" for the page, "/assets/<build hash>/<name>" for the rest
  std::string_view content_type;  // "text/javascript; charset=utf-8"
  std::string_view etag;          // quoted, from the content's SHA-256
  bool immutable = false;         // under the build hash: the URL changes when the content does
  size_t size = 0;                // uncompressed bytes
  std::span<const unsigned char> gzip;  // `gzip -9 -n` of the content
};

std::span<const UiAsset> ui_assets();
// "/assets/<build hash>".
std::string_view ui_assets_base();

}  // namespace petrel::web
