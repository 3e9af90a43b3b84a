// Router and percent-decoding, without sockets.
#include <gtest/gtest.h>

#include "web/router.h"

namespace petrel::web {
namespace {

Handler noop() {
  return [](Request&, std::shared_ptr<Reply>) {};
}

TEST(Router, LiteralsParamsAndRest) {
  Router r;
  r.add("GET", "/api/bridges", noop());
  r.add("GET", "/api/bridges/{name}", noop());
  r.add("GET", "/api/bridges/status", noop());
  r.add("GET", "/api/retained/{topic...}", noop());
  r.add("GET", "/api/{kind}/{id}/x/{rest...}", noop());

  auto m = r.match("GET", "/api/bridges/b%201");
  ASSERT_EQ(m.kind, RouteMatch::Kind::kFound);
  ASSERT_EQ(m.params.size(), 1u);
  EXPECT_EQ(m.params[0], (Header{"name", "b 1"}));
  EXPECT_TRUE(r.match("GET", "/api/bridges/status").params.empty());  // the literal wins
  EXPECT_EQ(r.match("GET", "/api/retained/a/b/c").params.at(0).second, "a/b/c");
  EXPECT_EQ(r.match("GET", "/api/retained/a%2Fb/%2F").params.at(0).second, "a/b//");
  auto multi = r.match("GET", "/api/k/7/x/y/z");
  ASSERT_EQ(multi.params.size(), 3u);
  EXPECT_EQ(multi.params[0], (Header{"kind", "k"}));
  EXPECT_EQ(multi.params[1], (Header{"id", "7"}));
  EXPECT_EQ(multi.params[2], (Header{"rest", "y/z"}));

  EXPECT_EQ(r.match("GET", "/api/bridges/").kind, RouteMatch::Kind::kNotFound);  // empty {name}
  EXPECT_EQ(r.match("GET", "/api/retained").kind, RouteMatch::Kind::kNotFound);
  EXPECT_EQ(r.match("GET", "/api/retained/").kind, RouteMatch::Kind::kNotFound);  // empty rest
  EXPECT_EQ(r.match("GET", "/api/bridges/a/b").kind, RouteMatch::Kind::kNotFound);
  EXPECT_EQ(r.match("GET", "/api/bridges/%4").kind, RouteMatch::Kind::kBadPath);
  EXPECT_EQ(r.match("GET", "api/bridges").kind, RouteMatch::Kind::kBadPath);
}

TEST(Router, MethodsHeadAndAllow) {
  Router r;
  r.add("GET", "/x", noop());
  r.add("DELETE", "/x", noop());
  EXPECT_EQ(r.match("HEAD", "/x").kind, RouteMatch::Kind::kFound);
  EXPECT_EQ(r.match("HEAD", "/x").route->method, "GET");
  auto m = r.match("POST", "/x");
  EXPECT_EQ(m.kind, RouteMatch::Kind::kMethodNotAllowed);
  EXPECT_EQ(m.allow, "GET, HEAD, DELETE");
}

TEST(Router, StateChangingDefaultsAndGetNeverChangesState) {
  Router r;
  r.add("POST", "/p", noop());
  r.add("PUT", "/p", noop());
  r.add("GET", "/p", noop());
  r.add("POST", "/q", noop(), RouteOptions{.public_route = true, .state_changing = false});
  EXPECT_TRUE(r.match("POST", "/p").route->state_changing);
  EXPECT_TRUE(r.match("PUT", "/p").route->state_changing);
  EXPECT_FALSE(r.match("GET", "/p").route->state_changing);
  EXPECT_FALSE(r.match("POST", "/q").route->state_changing);
  EXPECT_TRUE(r.match("POST", "/q").route->public_route);
  EXPECT_THROW(r.add("GET", "/g", noop(), RouteOptions{.public_route = false, .state_changing = true}),
               std::invalid_argument);
  EXPECT_THROW(r.add("HEAD", "/g", noop(), RouteOptions{.public_route = false, .state_changing = true}),
               std::invalid_argument);
}

TEST(Router, BadPatternsAreBugs) {
  Router r;
  EXPECT_THROW(r.add("GET", "x", noop()), std::invalid_argument);
  EXPECT_THROW(r.add("GET", "/a/{rest...}/b", noop()), std::invalid_argument);
  EXPECT_THROW(r.add("GET", "/a/{}", noop()), std::invalid_argument);
  EXPECT_THROW(r.add("GET", "/a/b{c}", noop()), std::invalid_argument);
  EXPECT_THROW(r.add("GET", "/a", nullptr), std::invalid_argument);
  r.add("GET", "/a", noop());
  EXPECT_THROW(r.add("GET", "/a", noop()), std::invalid_argument);
}

TEST(PercentDecode, EscapesPlusAndErrors) {
  EXPECT_EQ(percent_decode("a%20b%2f%2F"), "a b//");
  EXPECT_EQ(percent_decode("a+b"), "a+b");
  EXPECT_EQ(percent_decode("a+b", true), "a b");
  EXPECT_EQ(percent_decode("%"), std::nullopt);
  EXPECT_EQ(percent_decode("%4"), std::nullopt);
  EXPECT_EQ(percent_decode("%G0"), std::nullopt);
  EXPECT_EQ(percent_decode("%00"), std::string(1, '\0'));
}

TEST(ParseQuery, PairsFlagsAndRepeats) {
  auto q = parse_query("a=1&b=x%20y&c&&a=2&d=");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->at("a"), "2");
  EXPECT_EQ(q->at("b"), "x y");
  EXPECT_EQ(q->at("c"), "");
  EXPECT_EQ(q->at("d"), "");
  EXPECT_EQ(q->size(), 4u);
  auto bad = parse_query("a=%zz");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("a=%zz"), std::string::npos);
}

}  // namespace
}  // namespace petrel::web
