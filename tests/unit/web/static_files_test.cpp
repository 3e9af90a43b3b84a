// The embedded admin pages: what the build embedded (size limit, each file intact, every
// reference between them resolves) and how the server serves them (gzip or inflated,
// caching, ETag revalidation, public while the API stays behind authentication).
#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "test_support.h"
#include "web/static_files.h"
#include "web/ui_assets.h"

namespace petrel::web::test {
namespace {

std::string text_of(const UiAsset& a) {
  auto t = gunzip(a.gzip);
  EXPECT_TRUE(t.ok()) << a.path;
  return t ? *t : std::string();
}

const UiAsset* find_asset(std::string_view path) {
  for (const auto& a : ui_assets())
    if (a.path == path) return &a;
  return nullptr;
}

TEST(UiAssets, CompressedTotalStaysUnderTheLimit) {
  size_t total = 0;
  for (const auto& a : ui_assets()) total += a.gzip.size();
  EXPECT_GT(total, 0u);
  EXPECT_LE(total, size_t(PETREL_UI_ASSETS_LIMIT));
  EXPECT_LE(total, 250u * 1024u);
}

TEST(UiAssets, EveryFileInflatesToItsSizeAndHasAnEtagAndType) {
  std::set<std::string_view> paths;
  for (const auto& a : ui_assets()) {
    EXPECT_TRUE(paths.insert(a.path).second) << "duplicate " << a.path;
    EXPECT_EQ(text_of(a).size(), a.size) << a.path;
    EXPECT_TRUE(a.etag.size() > 2 && a.etag.front() == '"' && a.etag.back() == '"') << a.path;
    EXPECT_FALSE(a.content_type.empty()) << a.path;
    if (a.path == "/") EXPECT_FALSE(a.immutable);
    else {
      EXPECT_TRUE(a.path.starts_with(std::string(ui_assets_base()) + "/")) << a.path;
      EXPECT_TRUE(a.immutable) << a.path;
    }
  }
  for (const char* name : {"app.js", "app.css", "vendor/preact-htm.js", "vendor/uplot.js", "vendor/pico.css",
                           "vendor/LICENSES.txt"})
    EXPECT_NE(find_asset(std::string(ui_assets_base()) + "/" + name), nullptr) << name;
}

// The page names its files under the build hash, with no inline script or style (the
// Content-Security-Policy would block them).
TEST(UiAssets, ThePageReferencesOnlyEmbeddedFilesAndNothingInline) {
  const UiAsset* index = find_asset("/");
  ASSERT_NE(index, nullptr);
  const std::string html = text_of(*index);
  EXPECT_EQ(html.find("@ASSETS@"), std::string::npos);
  EXPECT_EQ(html.find("style="), std::string::npos);
  EXPECT_EQ(html.find("<style"), std::string::npos);
  const std::regex script("<script([^>]*)>");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), script); it != std::sregex_iterator(); ++it)
    EXPECT_NE((*it)[1].str().find("src="), std::string::npos) << "inline script: " << (*it)[0];
  const std::regex ref("(?:href|src)=\"([^\"]+)\"");
  int refs = 0;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), ref); it != std::sregex_iterator(); ++it, ++refs)
    EXPECT_NE(find_asset((*it)[1].str()), nullptr) << "missing " << (*it)[1];
  EXPECT_GE(refs, 4);
}

// Every relative import of every module resolves to an embedded file (a file added to
// web/ui/src but not embedded, or a typo, fails here rather than in a browser).
TEST(UiAssets, EveryModuleImportResolves) {
  const std::regex import_re(R"((?:from|import)\s*['"](\.{1,2}/[^'"]+)['"])");
  int imports = 0;
  for (const auto& a : ui_assets()) {
    if (!a.path.ends_with(".js")) continue;
    const std::string js = text_of(a);
    const std::string dir(a.path.substr(0, a.path.rfind('/')));
    for (auto it = std::sregex_iterator(js.begin(), js.end(), import_re); it != std::sregex_iterator(); ++it) {
      std::string rel = (*it)[1].str();
      std::string base = dir;
      while (rel.starts_with("../")) {
        base = base.substr(0, base.rfind('/'));
        rel = rel.substr(3);
      }
      if (rel.starts_with("./")) rel = rel.substr(2);
      EXPECT_NE(find_asset(base + "/" + rel), nullptr) << a.path << " imports " << (*it)[1];
      ++imports;
    }
  }
  EXPECT_GE(imports, 10);
}

TEST(StaticFiles, AcceptEncoding) {
  EXPECT_TRUE(accepts_gzip("gzip"));
  EXPECT_TRUE(accepts_gzip("gzip, deflate, br"));
  EXPECT_TRUE(accepts_gzip("deflate, GZIP;q=0.5"));
  EXPECT_TRUE(accepts_gzip("*"));
  EXPECT_TRUE(accepts_gzip("x-gzip"));
  EXPECT_FALSE(accepts_gzip(""));
  EXPECT_FALSE(accepts_gzip("identity"));
  EXPECT_FALSE(accepts_gzip("br, deflate"));
  EXPECT_FALSE(accepts_gzip("gzip;q=0"));
  EXPECT_FALSE(accepts_gzip("gzip; q=0.000"));
  EXPECT_TRUE(accepts_gzip("gzip;q=0.001"));
  EXPECT_FALSE(accepts_gzip("gzipx"));
}

TEST(StaticFiles, IfNoneMatch) {
  EXPECT_TRUE(etag_matches("\"abc\"", "\"abc\""));
  EXPECT_TRUE(etag_matches("\"x\", W/\"abc\"", "\"abc\""));
  EXPECT_TRUE(etag_matches("*", "\"abc\""));
  EXPECT_FALSE(etag_matches("", "\"abc\""));
  EXPECT_FALSE(etag_matches("\"abcd\"", "\"abc\""));
}

TEST(StaticFiles, CorruptGzipIsAnError) {
  const unsigned char junk[] = {0x1f, 0x8b, 8, 0, 0, 0};
  EXPECT_FALSE(gunzip(junk).ok());
}

class StaticServerTest : public ServerFixture {
 protected:
  void SetUp() override {
    ServerFixture::SetUp();
    router_.add("GET", "/api/petrel/v1/thing", [](Request&, std::shared_ptr<Reply> r) { r->send(json_response(200, {})); });
    add_static_routes(router_, ui_assets());
    start();
  }
};

TEST_F(StaticServerTest, PageIsPublicGzippedAndRevalidated) {
  const UiAsset* index = find_asset("/");
  ASSERT_NE(index, nullptr);
  Answer gz = get("/", {{"Accept-Encoding", "gzip, deflate"}});
  EXPECT_EQ(gz.status, 200);
  EXPECT_EQ(gz.header("Content-Encoding"), "gzip");
  EXPECT_EQ(gz.body, std::string(reinterpret_cast<const char*>(index->gzip.data()), index->gzip.size()));
  EXPECT_EQ(gz.header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(gz.header("Cache-Control"), "no-cache");
  EXPECT_EQ(gz.header("ETag"), index->etag);
  EXPECT_EQ(gz.header("Vary"), "Accept-Encoding");
  EXPECT_EQ(gz.header("Content-Security-Policy"), kDefaultContentSecurityPolicy);

  Answer plain = get("/");
  EXPECT_EQ(plain.status, 200);
  EXPECT_EQ(plain.header("Content-Encoding"), "");
  EXPECT_EQ(plain.body, text_of(*index));
  EXPECT_TRUE(plain.body.starts_with("<!doctype html>"));

  Answer again = get("/", {{"If-None-Match", std::string(index->etag)}});
  EXPECT_EQ(again.status, 304);
  EXPECT_EQ(again.body, "");
  EXPECT_EQ(again.header("ETag"), index->etag);
}

TEST_F(StaticServerTest, AssetsAreCachedForAYearAndUnknownOnesAre404) {
  const std::string path = std::string(ui_assets_base()) + "/app.js";
  const UiAsset* app = find_asset(path);
  ASSERT_NE(app, nullptr);
  Answer r = get(path, {{"Accept-Encoding", "gzip"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(r.header("Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(r.header("Content-Encoding"), "gzip");
  Answer head = Client(port_).request("HEAD", path);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(get("/assets/0123456789ab/app.js").status, 404);
  // The API stays behind authentication.
  EXPECT_EQ(get("/api/petrel/v1/thing").status, 401);
  EXPECT_EQ(get("/index.html").status, 401);
}

}  // namespace
}  // namespace petrel::web::test
