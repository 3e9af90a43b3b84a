// JSON helpers and the dispatcher's order of checks, without sockets.
#include <gtest/gtest.h>

#include "web/auth.h"
#include "web/dispatcher.h"
#include "web/json.h"
#include "web/router.h"

namespace petrel::web {
namespace {

TEST(Json, Responses) {
  Response r = json_response(201, boost::json::object{{"a", 1}});
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, R"({"a":1})");
  EXPECT_EQ(error_response(404, "not found").body, R"({"error":"not found"})");
  EXPECT_EQ(field_error_response(400, {{"port", "must be an integer from 1 to 65535"}, {"name", "is required"}}).body,
            R"({"error":"invalid input","fields":[{"field":"port","message":"must be an integer from 1 to 65535"},)"
            R"({"field":"name","message":"is required"}]})");
}

TEST(Json, ParseObjectSaysWhatIsWrong) {
  EXPECT_TRUE(parse_json_object(R"({"a":[1,2]})").ok());
  auto bad = parse_json_object("{\"a\":");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message.rfind("body is not valid JSON: ", 0), 0u);
  EXPECT_EQ(parse_json_object("").error().message.rfind("body is not valid JSON: ", 0), 0u);
  EXPECT_EQ(parse_json_object("[]").error().message, "body must be a JSON object");
  EXPECT_EQ(parse_json_object("\"x\"").error().message, "body must be a JSON object");
  const std::string deep = std::string(100, '[') + std::string(100, ']');
  EXPECT_FALSE(parse_json_object("{\"a\":" + deep + "}").ok());
}

TEST(Json, FieldReaderCollectsEveryProblem) {
  auto o = parse_json_object(
      R"({"name":"n","long":"abcdef","flag":true,"port":70000,"neg":-5,"big":18446744073709551615,"f":1.5,"typo":1,"nothing":null})");
  ASSERT_TRUE(o.ok());
  FieldReader f(*o);
  EXPECT_EQ(f.string("name"), "n");
  EXPECT_EQ(f.string("long", 3), std::nullopt);
  EXPECT_EQ(f.boolean("flag"), true);
  EXPECT_EQ(f.integer("port", 1, 65535), std::nullopt);
  EXPECT_EQ(f.integer("neg", -10, 10), -5);
  EXPECT_EQ(f.integer("big", 0, INT64_MAX), std::nullopt);
  EXPECT_EQ(f.integer("f", 0, 10), std::nullopt);
  EXPECT_EQ(f.string("missing"), std::nullopt);
  EXPECT_EQ(f.string_or("nothing", "default"), "default");  // null counts as absent
  EXPECT_EQ(f.integer_or("absent", 0, 10, 7), 7);
  EXPECT_EQ(f.boolean_or("name", false), false);  // wrong type: an error and the fallback
  f.reject_unknown({"name", "long", "flag", "port", "neg", "big", "f", "nothing"});
  ASSERT_FALSE(f.ok());
  std::vector<std::string> got;
  for (const auto& e : f.errors()) got.push_back(e.field + ": " + e.message);
  EXPECT_EQ(got, (std::vector<std::string>{
                     "long: must be at most 3 bytes long", "port: must be an integer from 1 to 65535",
                     "big: must be an integer from 0 to 9223372036854775807", "f: must be an integer from 0 to 10",
                     "missing: is required", "name: must be true or false", "typo: is not a known field"}));
  EXPECT_EQ(f.error_response().status, 400);
}

// Records what the dispatcher answers.
struct Capture : ReplyTarget {
  Response response;
  int calls = 0;
  void send_response(Response r) override {
    response = std::move(r);
    ++calls;
  }
  void dropped() override { ++calls; }
  void start_events(std::shared_ptr<EventStream>) override {}
  void event_bytes(std::string) override {}
  void end_events(bool) override {}
};

TEST(Dispatcher, OrderOfChecks) {
  Logger log;
  LogSettings quiet;
  quiet.levels = kLogNone;
  log.configure(quiet);
  Router router;
  Auth auth;
  int handled = 0;
  router.add("POST", "/open", [&](Request&, std::shared_ptr<Reply> r) {
    ++handled;
    r->send(Response{204, "", "", {}});
  }, RouteOptions{.public_route = true, .state_changing = std::nullopt});
  router.add("POST", "/closed", [&](Request&, std::shared_ptr<Reply> r) { ++handled; r->send(Response{}); });
  Dispatcher d(log, router, auth);
  auto run = [&](std::string method, std::string target) {
    auto cap = std::make_shared<Capture>();
    Request req;
    req.method = std::move(method);
    req.target = std::move(target);
    req.peer = "192.0.2.1";
    d(req, std::make_shared<Reply>(cap, 1024));
    EXPECT_EQ(cap->calls, 1);
    return cap->response.status;
  };
  EXPECT_EQ(run("POST", "/open?x=1"), 204);
  EXPECT_EQ(handled, 1);
  EXPECT_EQ(run("POST", "/closed"), 401);
  EXPECT_EQ(run("GET", "/open"), 401);  // 405 only once authenticated
  EXPECT_EQ(run("GET", "/nowhere"), 401);
  EXPECT_EQ(run("POST", "/open?x=%zz"), 400);
  EXPECT_EQ(run("POST", "http://host/open"), 400);
  EXPECT_EQ(run("POST", "/op%en"), 400);
  EXPECT_EQ(handled, 1);
}

}  // namespace
}  // namespace petrel::web
