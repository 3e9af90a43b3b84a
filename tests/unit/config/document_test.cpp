// ConfigDocument: edits keep every line they do not touch byte for byte, land in the
// scope mosquitto.conf gives them (across include_dir files, in parse order), parse like
// the written files, and write() replaces files atomically with a .bak.
#include "config/document.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "config_test_util.h"

namespace petrel::config {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

::testing::AssertionResult Ok(const Result<void>& r) {
  if (r.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << r.error().message;
}

// The error message of a failed edit ("" when it succeeded, which the caller flags).
std::string error_of(const Result<void>& r) { return r.ok() ? std::string() : r.error().message; }

ConfigDocument load_ok(const std::string& path) {
  Result<ConfigDocument> d = ConfigDocument::load(path);
  if (!d) {
    ADD_FAILURE() << d.error().message;
    return ConfigDocument::from_text(path, "");
  }
  return std::move(d).value();
}

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

unsigned mode_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

std::vector<std::string> dir_entries(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

void expect_same_parse(const ParseResult& a, const ParseResult& b) {
  EXPECT_EQ(test::all_errors(a), test::all_errors(b));
  EXPECT_EQ(test::all_warnings(a), test::all_warnings(b));
  EXPECT_EQ(a.config.listeners, b.config.listeners);
  EXPECT_EQ(a.config.bridges, b.config.bridges);
  EXPECT_EQ(a.config.security, b.config.security);
  EXPECT_EQ(a.config.sys_interval, b.config.sys_interval);
  EXPECT_EQ(a.config.max_keepalive, b.config.max_keepalive);
}

// Runs `fn` without root's power to ignore permissions (when the test runs as root).
template <class Fn>
bool as_unprivileged(Fn fn) {
  const uid_t euid = ::geteuid();
  if (euid == 0 && ::seteuid(65534) != 0) return false;
  fn();
  if (euid == 0) {
    EXPECT_EQ(::seteuid(0), 0);
  }
  return true;
}

const Target kGlobal = Target::global();
Target listener(int i) { return Target::listener(ListenerRef{i}); }

// --- loading and round trips ----------------------------------------------------------

TEST(ConfigDocument, RoundTripWithoutEditsIsByteIdentical) {
  TempDir dir;
  const std::string main_text = "\xEF\xBB\xBF# Petrel\r\n\r\nlistener 1883   \r\n\tmax_connections 10 \n"
                                "include_dir " + dir.path() + "/conf.d\r\n# no final newline";
  const std::string inc_text = "connection b\naddress h:1\n  topic # out\n\n";
  std::string inc = dir.write("conf.d/a.conf", inc_text);
  std::string main = dir.write("main.conf", main_text);
  ConfigDocument doc = load_ok(main);
  EXPECT_EQ(doc.main_path(), main);
  EXPECT_EQ(doc.files(), (std::vector<std::string>{main, inc}));
  EXPECT_EQ(doc.text(main), main_text);
  EXPECT_EQ(doc.text(inc), inc_text);
  EXPECT_TRUE(doc.changed_files().empty());
  ASSERT_TRUE(Ok(doc.write()));
  EXPECT_EQ(read(main), main_text);
  EXPECT_FALSE(fs::exists(main + ".bak")) << "nothing changed, nothing written";
  EXPECT_EQ(doc.values(Target::bridge("b"), "topic"), std::vector<std::string>{"# out"});
  EXPECT_EQ(doc.values(listener(0), "max_connections"), std::vector<std::string>{"10"});
}

TEST(ConfigDocument, LoadOfAMissingMainFileNamesIt) {
  TempDir dir;
  Result<ConfigDocument> d = ConfigDocument::load(dir.path() + "/nope.conf");
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message.find(dir.path() + "/nope.conf"), std::string::npos) << d.error().message;
  EXPECT_NE(d.error().message.find("No such file"), std::string::npos) << d.error().message;
}

// --- set() in each scope ----------------------------------------------------------------

TEST(ConfigDocument, SetReplacesInPlaceAndKeepsCommentsAndOrder) {
  TempDir dir;
  std::string main = dir.write("main.conf", "# header comment\nallow_anonymous true   \n\n# limits\n"
                                            "max_keepalive 60\n\nlistener 1883\n# trailing\n");
  ConfigDocument doc = load_ok(main);
  ASSERT_TRUE(Ok(doc.set(kGlobal, "max_keepalive", {"120"}, "general.keepalive")));
  EXPECT_EQ(doc.text(main), "# header comment\nallow_anonymous true   \n\n# limits\n"
                            "max_keepalive 120\n\nlistener 1883\n# trailing\n");
  EXPECT_EQ(doc.changed_files(), std::vector<std::string>{main});
  EXPECT_EQ(doc.field_at(main, 5), "general.keepalive");
  EXPECT_EQ(doc.field_at(main, 2), "");
  EXPECT_EQ(doc.parse().config.max_keepalive, 120);
}

TEST(ConfigDocument, SetGlobalGoesBeforeTheFirstListenerOrBridgeOfTheMainFile) {
  TempDir dir;
  std::string a = dir.write("a.conf", "# Petrel\n\nallow_anonymous true\n\n# The listener\nlistener 1883\nmax_connections 5\n");
  ConfigDocument doc_a = load_ok(a);
  ASSERT_TRUE(Ok(doc_a.set(kGlobal, "sys_interval", {"5"}, "f")));
  EXPECT_EQ(doc_a.text(a), "# Petrel\n\nallow_anonymous true\nsys_interval 5\n\n# The listener\nlistener 1883\nmax_connections 5\n");

  // No option line above it: above the comments that describe the bridge.
  std::string b = dir.write("b.conf", "# Petrel\n\n# The bridge\nconnection b\naddress h\ntopic # out\n");
  ConfigDocument doc_b = load_ok(b);
  ASSERT_TRUE(Ok(doc_b.set(kGlobal, "sys_interval", {"5"}, "f")));
  EXPECT_EQ(doc_b.text(b), "# Petrel\n\nsys_interval 5\n# The bridge\nconnection b\naddress h\ntopic # out\n");
  EXPECT_EQ(doc_b.parse().config.sys_interval, 5u);

  // No listener or bridge: at the end.
  std::string c = dir.write("c.conf", "allow_anonymous true\n# end\n");
  ConfigDocument doc_c = load_ok(c);
  ASSERT_TRUE(Ok(doc_c.set(kGlobal, "sys_interval", {"5"}, "f")));
  EXPECT_EQ(doc_c.text(c), "allow_anonymous true\n# end\nsys_interval 5\n");
}

TEST(ConfigDocument, SetDefaultListenerGoesBeforeTheFirstListener) {
  TempDir dir;
  std::string main = dir.write("main.conf", "allow_anonymous true\nlistener 1884\nmax_connections 1\n");
  ConfigDocument doc = load_ok(main);
  ASSERT_TRUE(Ok(doc.set(listener(-1), "max_connections", {"7"}, "default.max")));
  EXPECT_EQ(doc.text(main), "allow_anonymous true\nmax_connections 7\nlistener 1884\nmax_connections 1\n");
  EXPECT_EQ(doc.values(listener(-1), "max_connections"), std::vector<std::string>{"7"});
  EXPECT_EQ(doc.values(listener(0), "max_connections"), std::vector<std::string>{"1"});
  ParseResult r = doc.parse();
  ASSERT_TRUE(r.ok()) << test::all_errors(r);
  ASSERT_EQ(r.config.listeners.size(), 2u);
  EXPECT_EQ(r.config.listeners[1].port, 1883);  // Mosquitto opens the default listener too
  EXPECT_EQ(r.config.listeners[1].max_connections, 7);
  std::vector<ListenerInfo> ls = doc.listeners();
  ASSERT_EQ(ls.size(), 2u);
  EXPECT_EQ(ls[0].index, -1);
  EXPECT_EQ(ls[0].line, 2);
  EXPECT_EQ(ls[1].index, 0);
  EXPECT_EQ(ls[1].port, "1884");
}

TEST(ConfigDocument, SetListenerInTheMiddle) {
  TempDir dir;
  std::string main = dir.write("main.conf", "listener 1883\nmax_connections 1\n\nlistener 1884\nmax_qos 1\n"
                                            "# about 1885\n\nlistener 1885\n");
  ConfigDocument doc = load_ok(main);
  ASSERT_TRUE(Ok(doc.set(listener(1), "max_connections", {"50"}, "l1.max")));
  ASSERT_TRUE(Ok(doc.set(listener(1), "max_qos", {"2"}, "l1.qos")));
  EXPECT_EQ(doc.text(main), "listener 1883\nmax_connections 1\n\nlistener 1884\nmax_qos 2\nmax_connections 50\n"
                            "# about 1885\n\nlistener 1885\n");
  ParseResult r = doc.parse();
  ASSERT_TRUE(r.ok()) << test::all_errors(r);
  ASSERT_EQ(r.config.listeners.size(), 3u);
  EXPECT_EQ(r.config.listeners[0].max_connections, 1);
  EXPECT_EQ(r.config.listeners[1].max_connections, 50);
  EXPECT_EQ(r.config.listeners[2].max_connections, -1);
}

TEST(ConfigDocument, ListenerSectionInterruptedByABridgeSection) {
  TempDir dir;
  std::string main = dir.write("main.conf", "listener 1883\nmax_qos 1\nconnection b\naddress h\ntopic # out\n"
                                            "max_connections 5\nlistener 1884\n");
  ConfigDocument doc = load_ok(main);
  EXPECT_EQ(doc.values(listener(0), "max_connections"), std::vector<std::string>{"5"});
  EXPECT_EQ(doc.values(Target::bridge("b"), "address"), std::vector<std::string>{"h"});
  ASSERT_TRUE(Ok(doc.set(listener(0), "protocol", {"websockets"}, "f")));
  ASSERT_TRUE(Ok(doc.set(Target::bridge("b"), "try_private", {"false"}, "f")));
  EXPECT_EQ(doc.text(main), "listener 1883\nmax_qos 1\nconnection b\naddress h\ntopic # out\ntry_private false\n"
                            "max_connections 5\nprotocol websockets\nlistener 1884\n");
  ParseResult r = doc.parse();
  ASSERT_TRUE(r.ok()) << test::all_errors(r);
  EXPECT_EQ(r.config.listeners.at(0).protocol, ListenerProtocol::kWebsockets);
  EXPECT_EQ(r.config.listeners.at(1).protocol, ListenerProtocol::kMqtt);
  EXPECT_FALSE(r.config.bridges.at(0).try_private);
  std::vector<ListenerInfo> ls = doc.listeners();
  ASSERT_EQ(ls.size(), 2u);
  ASSERT_EQ(ls[0].options.size(), 3u);
  EXPECT_EQ(ls[0].options[2].option, "protocol");
  EXPECT_EQ(ls[0].options[2].value, "websockets");
  EXPECT_EQ(ls[0].options[2].line, 8);
}

TEST(ConfigDocument, BridgeSectionWithGlobalLinesInterleaved) {
  TempDir dir;
  std::string main = dir.write("main.conf", "connection b\naddress h\nsys_interval 5\ntopic a/# out\n"
                                            "listener 1884\ncleansession true\nmax_keepalive 30\n");
  ConfigDocument doc = load_ok(main);
  EXPECT_EQ(doc.values(kGlobal, "sys_interval"), std::vector<std::string>{"5"});
  EXPECT_EQ(doc.values(kGlobal, "max_keepalive"), std::vector<std::string>{"30"});
  EXPECT_EQ(doc.values(Target::bridge("b"), "cleansession"), std::vector<std::string>{"true"});
  ASSERT_TRUE(Ok(doc.set(Target::bridge("b"), "keepalive_interval", {"30"}, "f")));
  ASSERT_TRUE(Ok(doc.set(kGlobal, "sys_interval", {"7"}, "f")));
  ASSERT_TRUE(Ok(doc.set(kGlobal, "retain_available", {"false"}, "f")));
  EXPECT_EQ(doc.text(main), "retain_available false\nconnection b\naddress h\nsys_interval 7\ntopic a/# out\n"
                            "listener 1884\ncleansession true\nkeepalive_interval 30\nmax_keepalive 30\n");
  ParseResult r = doc.parse();
  ASSERT_TRUE(r.ok()) << test::all_errors(r);
  EXPECT_EQ(r.config.bridges.at(0).keepalive_interval, 30);
  EXPECT_EQ(r.config.sys_interval, 7u);
  EXPECT_FALSE(r.config.retain_available);
}

TEST(ConfigDocument, SecurityOptionsFollowPerListenerSettings) {
  TempDir dir;
  std::string per = dir.write("per.conf", "per_listener_settings true\nlistener 1883\nallow_anonymous true\n"
                                          "listener 1884\nmax_qos 1\n");
  ConfigDocument doc = load_ok(per);
  ASSERT_TRUE(Ok(doc.set(listener(1), "acl_file", {"/etc/petrel/acl"}, "f")));
  ASSERT_TRUE(Ok(doc.set(listener(0), "allow_anonymous", {"false"}, "f")));
  EXPECT_NE(error_of(doc.set(kGlobal, "allow_anonymous", {"true"}, "f")).find("is a listener option"),
            std::string::npos);
  EXPECT_EQ(doc.text(per), "per_listener_settings true\nlistener 1883\nallow_anonymous false\n"
                           "listener 1884\nmax_qos 1\nacl_file /etc/petrel/acl\n");
  ParseResult r = doc.parse();
  ASSERT_TRUE(r.ok()) << test::all_errors(r);
  EXPECT_EQ(r.config.listeners.at(1).security.acl_file, "/etc/petrel/acl");
  EXPECT_EQ(r.config.listeners.at(0).security.acl_file, "");

  std::string global = dir.write("global.conf", "allow_anonymous true\nlistener 1883\nmax_qos 1\n");
  ConfigDocument g = load_ok(global);
  EXPECT_NE(error_of(g.set(listener(0), "acl_file", {"/a"}, "f")).find("is a global option"), std::string::npos);
  ASSERT_TRUE(Ok(g.set(kGlobal, "acl_file", {"/a"}, "f")));
  EXPECT_EQ(g.text(global), "allow_anonymous true\nacl_file /a\nlistener 1883\nmax_qos 1\n");
  EXPECT_EQ(g.parse().config.security.acl_file, "/a");
}

TEST(ConfigDocument, SecurityLinesBeforeTheFirstListenerBelongToTheDefaultListenerWhenPerListener) {
  ConfigDocument doc = ConfigDocument::from_text("/nonexistent/petrel.conf",
                                                 "per_listener_settings true\nallow_anonymous true\nlistener 1883\n");
  EXPECT_EQ(doc.values(listener(-1), "allow_anonymous"), std::vector<std::string>{"true"});
  EXPECT_TRUE(doc.values(kGlobal, "allow_anonymous").empty());
  EXPECT_TRUE(doc.values(listener(0), "allow_anonymous").empty());
}

TEST(ConfigDocument, MultiValuedBridgeOptionsAreReplacedAsAGroupAtTheFirstLine) {
  TempDir dir;
  std::string main = dir.write("main.conf", "connection b\naddress h1:1883\ntopic a/# out\naddresses h2:1883\n"
                                            "topic b/# in 1\nlistener 1883\n");
  ConfigDocument doc = load_ok(main);
  EXPECT_EQ(doc.values(Target::bridge("b"), "address"), (std::vector<std::string>{"h1:1883", "h2:1883"}));
  ASSERT_TRUE(Ok(doc.set(Target::bridge("b"), "address", {"x1", "x2", "x3"}, "bridge.addresses")));
  EXPECT_EQ(doc.text(main), "connection b\naddress x1\naddress x2\naddress x3\ntopic a/# out\ntopic b/# in 1\n"
                            "listener 1883\n");
  ASSERT_TRUE(Ok(doc.set(Target::bridge("b"), "topic", {"c/# both 2"}, "bridge.topics")));
  EXPECT_EQ(doc.text(main), "connection b\naddress x1\naddress x2\naddress x3\ntopic c/# both 2\nlistener 1883\n");
  ParseResult r = doc.parse();
  ASSERT_TRUE(r.ok()) << test::all_errors(r);
  ASSERT_EQ(r.config.bridges.at(0).addresses.size(), 3u);
  EXPECT_EQ(r.config.bridges[0].addresses[2].host, "x3");
  ASSERT_EQ(r.config.bridges[0].topics.size(), 1u);
  EXPECT_EQ(r.config.bridges[0].topics[0].direction, BridgeDirection::kBoth);
  ASSERT_TRUE(Ok(doc.set(Target::bridge("b"), "address", {}, "f")));
  EXPECT_EQ(doc.text(main), "connection b\ntopic c/# both 2\nlistener 1883\n");
}

TEST(ConfigDocument, EmptyValuesRemoveTheOptionFromThatScopeOnly) {
  ConfigDocument doc = ConfigDocument::from_text("/nonexistent/p.conf", "listener 1883\nmax_qos 1\nlistener 1884\nmax_qos 1\n");
  ASSERT_TRUE(Ok(doc.set(listener(0), "maximum_qos", {}, "f")));  // an alias names the same option
  EXPECT_EQ(doc.text("/nonexistent/p.conf"), "listener 1883\nlistener 1884\nmax_qos 1\n");
}

TEST(ConfigDocument, ReplacedAndNewLinesKeepTheSectionsIndentation) {
  ConfigDocument doc = ConfigDocument::from_text("/nonexistent/p.conf", "connection b\n  address h\n  topic x out\n");
  ASSERT_TRUE(Ok(doc.set(Target::bridge("b"), "address", {"k"}, "f")));
  ASSERT_TRUE(Ok(doc.set(Target::bridge("b"), "try_private", {"false"}, "f")));
  EXPECT_EQ(doc.text("/nonexistent/p.conf"), "connection b\n  address k\n  topic x out\n  try_private false\n");
}

// --- bridges and listeners ----------------------------------------------------------------

TEST(ConfigDocument, AddRenameRemoveBridge) {
  TempDir dir;
  std::string main = dir.write("main.conf", "# main\nlistener 1883\n");
  ConfigDocument doc = load_ok(main);
  ASSERT_TRUE(Ok(doc.add_bridge("b1", "bridge.name")));
  ASSERT_TRUE(Ok(doc.set(Target::bridge("b1"), "address", {"remote:1883"}, "bridge.address")));
  ASSERT_TRUE(Ok(doc.set(Target::bridge("b1"), "topic", {"# out"}, "bridge.topic")));
  EXPECT_EQ(doc.text(main), "# main\nlistener 1883\n\nconnection b1\naddress remote:1883\ntopic # out\n");
  EXPECT_EQ(doc.bridge_names(), std::vector<std::string>{"b1"});
  EXPECT_NE(error_of(doc.add_bridge("b1", "f")).find("already exists"), std::string::npos);
  ASSERT_TRUE(doc.parse().ok()) << test::all_errors(doc.parse());

  ASSERT_TRUE(Ok(doc.rename_bridge("b1", "b2", "bridge.name")));
  EXPECT_EQ(doc.bridge_names(), std::vector<std::string>{"b2"});
  EXPECT_EQ(doc.values(Target::bridge("b2"), "address"), std::vector<std::string>{"remote:1883"});
  EXPECT_EQ(doc.field_at(main, 4), "bridge.name");
  EXPECT_NE(error_of(doc.rename_bridge("b1", "b3")).find("no bridge named 'b1'"), std::string::npos);

  ASSERT_TRUE(Ok(doc.remove_bridge("b2")));
  EXPECT_EQ(doc.text(main), "# main\nlistener 1883\n\n");
  EXPECT_TRUE(doc.bridge_names().empty());
  EXPECT_NE(error_of(doc.remove_bridge("b2")).find("no bridge named 'b2'"), std::string::npos);
}

TEST(ConfigDocument, RemoveBridgeKeepsTheOtherLinesOfItsSection) {
  ConfigDocument doc = ConfigDocument::from_text(
      "/nonexistent/p.conf", "connection a\naddress h\nsys_interval 5\nlistener 1884\ntopic x out\n"
                             "connection c\naddress k\ntopic y out\n");
  EXPECT_NE(error_of(doc.rename_bridge("a", "c")).find("already exists"), std::string::npos);
  ASSERT_TRUE(Ok(doc.remove_bridge("a")));
  EXPECT_EQ(doc.text("/nonexistent/p.conf"), "sys_interval 5\nlistener 1884\nconnection c\naddress k\ntopic y out\n");
}

TEST(ConfigDocument, AddAndRemoveListener) {
  TempDir dir;
  std::string main = dir.write("main.conf", "allow_anonymous true\nlistener 1883\nmax_qos 1\nconnection b\n"
                                            "address h\ntopic # out\nmax_connections 3\nsys_interval 5\n");
  ConfigDocument doc = load_ok(main);
  Result<ListenerRef> added = doc.add_listener("1884", "127.0.0.1", "listener.new");
  ASSERT_TRUE(added.ok()) << added.error().message;
  EXPECT_EQ(added->index, 1);
  ASSERT_TRUE(Ok(doc.set(Target::listener(*added), "max_qos", {"0"}, "f")));
  EXPECT_EQ(doc.text(main), "allow_anonymous true\nlistener 1883\nmax_qos 1\nconnection b\naddress h\ntopic # out\n"
                            "max_connections 3\nsys_interval 5\n\nlistener 1884 127.0.0.1\nmax_qos 0\n");
  EXPECT_EQ(doc.field_at(main, 10), "listener.new");
  EXPECT_EQ(doc.field_at(main, 9), "");

  ASSERT_TRUE(Ok(doc.remove_listener({0})));
  EXPECT_EQ(doc.text(main), "allow_anonymous true\nconnection b\naddress h\ntopic # out\nsys_interval 5\n\n"
                            "listener 1884 127.0.0.1\nmax_qos 0\n");
  std::vector<ListenerInfo> ls = doc.listeners();
  ASSERT_EQ(ls.size(), 1u);
  EXPECT_EQ(ls[0].index, 0);
  EXPECT_EQ(ls[0].port, "1884");
  EXPECT_EQ(ls[0].address, "127.0.0.1");
  EXPECT_EQ(ls[0].line, 7);
  EXPECT_NE(error_of(doc.remove_listener({1})).find("no listener #1"), std::string::npos);
  ParseResult r = doc.parse();
  ASSERT_TRUE(r.ok()) << test::all_errors(r);
  ASSERT_EQ(r.config.listeners.size(), 1u);
  EXPECT_EQ(r.config.listeners[0].bind_address, "127.0.0.1");
}

TEST(ConfigDocument, SetListenerHeader) {
  ConfigDocument doc = ConfigDocument::from_text("/nonexistent/p.conf", "listener 1883\nmax_qos 1\n");
  ASSERT_TRUE(Ok(doc.set_listener_header({0}, "8883", "::1", "listener.port")));
  EXPECT_EQ(doc.text("/nonexistent/p.conf"), "listener 8883 ::1\nmax_qos 1\n");
  EXPECT_EQ(doc.field_at("/nonexistent/p.conf", 1), "listener.port");
  EXPECT_NE(error_of(doc.set_listener_header({0}, "88 83", "", "f")).find("one word"), std::string::npos);
}

TEST(ConfigDocument, SetListenerHeaderOfTheDefaultListenerMakesItAListener) {
  ConfigDocument doc = ConfigDocument::from_text("/nonexistent/p.conf",
                                                 "sys_interval 5\nport 1884\nmax_connections 5\nlistener 1885\n");
  ASSERT_TRUE(Ok(doc.set_listener_header({-1}, "1886", "127.0.0.1", "f")));
  EXPECT_EQ(doc.text("/nonexistent/p.conf"), "sys_interval 5\nlistener 1886 127.0.0.1\nmax_connections 5\nlistener 1885\n");
  std::vector<ListenerInfo> ls = doc.listeners();
  ASSERT_EQ(ls.size(), 2u);
  EXPECT_EQ(ls[0].index, 0);
  EXPECT_EQ(ls[0].port, "1886");
  ASSERT_EQ(ls[0].options.size(), 1u);
  EXPECT_EQ(ls[0].options[0].option, "max_connections");
}

// --- include_dir ------------------------------------------------------------------------

TEST(ConfigDocument, EditsToABridgeOfAnIncludedFileLandInThatFile) {
  TempDir dir;
  std::string inc = dir.write("d/10-bridge.conf", "# bridge to the cloud\nconnection cloud\naddress c:8883\ntopic # out\n");
  std::string main = dir.write("main.conf", "listener 1883\ninclude_dir " + dir.path() + "/d\nsys_interval 5\n");
  ConfigDocument doc = load_ok(main);
  ASSERT_TRUE(Ok(doc.set(Target::bridge("cloud"), "address", {"c2:8883"}, "f")));
  EXPECT_EQ(doc.changed_files(), std::vector<std::string>{inc});
  ASSERT_TRUE(Ok(doc.set(Target::bridge("cloud"), "try_private", {"false"}, "f")));
  ASSERT_TRUE(Ok(doc.set(kGlobal, "max_keepalive", {"30"}, "f")));
  EXPECT_EQ(doc.text(inc), "# bridge to the cloud\nconnection cloud\naddress c2:8883\ntopic # out\ntry_private false\n");
  EXPECT_EQ(doc.text(main), "max_keepalive 30\nlistener 1883\ninclude_dir " + dir.path() + "/d\nsys_interval 5\n");
  EXPECT_EQ(doc.changed_files(), (std::vector<std::string>{main, inc}));
  EXPECT_EQ(doc.field_at(inc, 5), "f");

  ParseResult edited = doc.parse();
  ASSERT_TRUE(edited.ok()) << test::all_errors(edited);
  ASSERT_TRUE(Ok(doc.write()));
  EXPECT_TRUE(doc.changed_files().empty());
  EXPECT_EQ(read(inc), doc.text(inc));
  expect_same_parse(edited, parse_config_file(main));
  EXPECT_EQ(edited.config.bridges.at(0).addresses.at(0).host, "c2");
}

TEST(ConfigDocument, ScopesFollowParseOrderAcrossIncludedFiles) {
  TempDir dir;
  std::string inc = dir.write("d/a.conf", "listener 1885\n");
  std::string main = dir.write("main.conf", "allow_anonymous true\ninclude_dir " + dir.path() + "/d\nmax_keepalive 5\n");
  ConfigDocument doc = load_ok(main);
  // After include_dir the parser is in the included listener's section, so the default
  // listener's line must go above it.
  ASSERT_TRUE(Ok(doc.set(listener(-1), "max_connections", {"7"}, "f")));
  ASSERT_TRUE(Ok(doc.set(listener(0), "max_qos", {"1"}, "f")));
  EXPECT_EQ(doc.text(main), "allow_anonymous true\nmax_connections 7\ninclude_dir " + dir.path() + "/d\nmax_keepalive 5\n");
  EXPECT_EQ(doc.text(inc), "listener 1885\nmax_qos 1\n");
  std::vector<ListenerInfo> ls = doc.listeners();
  ASSERT_EQ(ls.size(), 2u);
  EXPECT_EQ(ls[1].file, inc);
  ParseResult r = doc.parse();
  ASSERT_TRUE(r.ok()) << test::all_errors(r);
  ASSERT_EQ(r.config.listeners.size(), 2u);
  EXPECT_EQ(r.config.listeners[0].max_qos, 1);
  EXPECT_EQ(r.config.listeners[1].max_connections, 7);
}

TEST(ConfigDocument, ASectionsNewLinesGoToTheFileOfItsListenerLine) {
  TempDir dir;
  std::string inc = dir.write("d/a.conf", "max_qos 1\n");
  std::string main = dir.write("main.conf", "listener 1883\ninclude_dir " + dir.path() + "/d\n");
  ConfigDocument doc = load_ok(main);
  EXPECT_EQ(doc.values(listener(0), "max_qos"), std::vector<std::string>{"1"});
  ASSERT_TRUE(Ok(doc.set(listener(0), "max_connections", {"4"}, "f")));
  EXPECT_EQ(doc.text(main), "listener 1883\nmax_connections 4\ninclude_dir " + dir.path() + "/d\n");
  EXPECT_EQ(doc.text(inc), "max_qos 1\n");
}

TEST(ConfigDocument, PortAndBindAddressAlwaysConfigureTheDefaultListener) {
  const std::string path = "/nonexistent/p.conf";
  ConfigDocument doc = ConfigDocument::from_text(path, "listener 1883\nport 1884\nmax_qos 1\n");
  EXPECT_EQ(doc.values(listener(-1), "port"), std::vector<std::string>{"1884"});
  EXPECT_TRUE(doc.values(listener(0), "port").empty());
  EXPECT_EQ(doc.values(listener(0), "max_qos"), std::vector<std::string>{"1"});
  ASSERT_TRUE(Ok(doc.set(listener(-1), "port", {"1885"}, "f")));
  EXPECT_EQ(doc.text(path), "listener 1883\nport 1885\nmax_qos 1\n");
  std::vector<ListenerInfo> ls = doc.listeners();
  ASSERT_EQ(ls.size(), 2u);
  EXPECT_EQ(ls[0].index, -1);
  EXPECT_EQ(ls[0].port, "1885");
}

TEST(ConfigDocument, AnEditThatWouldLandInAnotherScopeIsRefusedAndUndone) {
  TempDir dir;
  // per_listener_settings true only takes effect in the included file, after the place
  // where a default-listener line would go, so there it would be a global line.
  dir.write("d/a.conf", "per_listener_settings true\n");
  const std::string main_text = "listener 1883\ninclude_dir " + dir.path() + "/d\n";
  std::string main = dir.write("main.conf", main_text);
  ConfigDocument doc = load_ok(main);
  EXPECT_NE(error_of(doc.set(listener(-1), "allow_anonymous", {"true"}, "f")).find("would not apply"),
            std::string::npos);
  EXPECT_EQ(doc.text(main), main_text);
  EXPECT_TRUE(doc.changed_files().empty());
}

TEST(ConfigDocument, AnUnreadableIncludedFileBlocksEdits) {
  TempDir dir;
  std::string secret = dir.write("d/secret.conf", "listener 1884\n");
  ASSERT_EQ(::chmod(secret.c_str(), 0), 0);
  std::string main = dir.write("main.conf", "listener 1883\ninclude_dir " + dir.path() + "/d\n");
  Result<ConfigDocument> loaded = make_error(0, "not run");
  const bool ran = as_unprivileged([&] { loaded = ConfigDocument::load(main); });
  if (!ran) GTEST_SKIP() << "cannot drop root privileges here";
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  ConfigDocument& doc = *loaded;
  EXPECT_EQ(doc.files(), std::vector<std::string>{main});
  std::string why = error_of(doc.set(kGlobal, "sys_interval", {"5"}, "f"));
  EXPECT_NE(why.find(secret + ": Permission denied"), std::string::npos) << why;
  EXPECT_FALSE(doc.add_bridge("b", "f").ok());
}

// --- write() ------------------------------------------------------------------------------

TEST(ConfigDocument, WriteKeepsABackupAndThePermissionBits) {
  TempDir dir;
  const std::string old_text = "# mine\nlistener 1883\n";
  std::string main = dir.write("main.conf", old_text);
  ASSERT_EQ(::chmod(main.c_str(), 0640), 0);
  ConfigDocument doc = load_ok(main);
  ASSERT_TRUE(Ok(doc.set(listener(0), "max_qos", {"1"}, "f")));
  ASSERT_TRUE(Ok(doc.write()));
  EXPECT_EQ(read(main), "# mine\nlistener 1883\nmax_qos 1\n");
  EXPECT_EQ(read(main + ".bak"), old_text);
  EXPECT_EQ(mode_of(main), 0640u);
  EXPECT_TRUE(doc.changed_files().empty());
  EXPECT_EQ(dir_entries(dir.path()), (std::vector<std::string>{"main.conf", "main.conf.bak"}));
  expect_same_parse(doc.parse(), parse_config_file(main));

  ASSERT_TRUE(Ok(doc.write()));  // nothing changed: the backup stays the previous version
  EXPECT_EQ(read(main + ".bak"), old_text);
  ASSERT_TRUE(Ok(doc.set(listener(0), "max_qos", {"2"}, "f")));
  ASSERT_TRUE(Ok(doc.write()));
  EXPECT_EQ(read(main + ".bak"), "# mine\nlistener 1883\nmax_qos 1\n");
  EXPECT_EQ(read(main), "# mine\nlistener 1883\nmax_qos 2\n");
}

TEST(ConfigDocument, FromTextCreatesTheMainFile) {
  TempDir dir;
  const std::string path = dir.path() + "/petrel.conf";
  ConfigDocument doc = ConfigDocument::from_text(path, "# default\nlistener 1883\nallow_anonymous true\n");
  EXPECT_EQ(doc.changed_files(), std::vector<std::string>{path});
  ASSERT_TRUE(doc.parse().ok()) << test::all_errors(doc.parse());
  ASSERT_TRUE(Ok(doc.set(listener(0), "max_connections", {"10"}, "f")));
  ASSERT_TRUE(Ok(doc.write()));
  EXPECT_EQ(read(path), "# default\nlistener 1883\nmax_connections 10\nallow_anonymous true\n");
  EXPECT_EQ(mode_of(path), 0644u);
  EXPECT_FALSE(fs::exists(path + ".bak"));
  EXPECT_TRUE(doc.changed_files().empty());
}

TEST(ConfigDocument, WriteRefusesToOverwriteAFileChangedOnDisk) {
  TempDir dir;
  std::string main = dir.write("main.conf", "listener 1883\n");
  ConfigDocument doc = load_ok(main);
  dir.write("main.conf", "listener 1999\n");
  ASSERT_TRUE(Ok(doc.set(listener(0), "max_qos", {"1"}, "f")));
  EXPECT_NE(error_of(doc.write()).find("'" + main + "': it changed on disk"), std::string::npos);
  EXPECT_EQ(read(main), "listener 1999\n");

  const std::string fresh = dir.path() + "/fresh.conf";
  ConfigDocument made = ConfigDocument::from_text(fresh, "listener 1883\n");
  dir.write("fresh.conf", "# someone else's\n");
  EXPECT_NE(error_of(made.write()).find("was created"), std::string::npos);
  EXPECT_EQ(read(fresh), "# someone else's\n");
}

TEST(ConfigDocument, WriteIntoAReadOnlyDirectoryFailsCleanly) {
  TempDir dir;
  const std::string old_text = "listener 1883\n";
  std::string main = dir.write("ro/main.conf", old_text);
  ConfigDocument doc = load_ok(main);
  ASSERT_TRUE(Ok(doc.set(listener(0), "max_qos", {"1"}, "f")));
  ASSERT_EQ(::chmod((dir.path() + "/ro").c_str(), 0555), 0);
  Result<void> r;
  const bool ran = as_unprivileged([&] { r = doc.write(); });
  ::chmod((dir.path() + "/ro").c_str(), 0755);
  if (!ran) GTEST_SKIP() << "cannot drop root privileges here";
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("cannot write '" + main + "'"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("Permission denied"), std::string::npos) << r.error().message;
  EXPECT_EQ(read(main), old_text);
  EXPECT_EQ(dir_entries(dir.path() + "/ro"), std::vector<std::string>{"main.conf"});
  EXPECT_EQ(doc.changed_files(), std::vector<std::string>{main});  // still to be written
}

TEST(ConfigDocument, AWriteThatFailsOnOneFileWritesNoneOfThem) {
  TempDir dir;
  const std::string inc_text = "connection b\naddress h\ntopic # out\n";
  std::string inc = dir.write("ro/b.conf", inc_text);
  const std::string main_text = "listener 1883\ninclude_dir " + dir.path() + "/ro\n";
  std::string main = dir.write("main.conf", main_text);
  ConfigDocument doc = load_ok(main);
  ASSERT_TRUE(Ok(doc.set(listener(0), "max_qos", {"1"}, "f")));         // main.conf: writable
  ASSERT_TRUE(Ok(doc.set(Target::bridge("b"), "address", {"k"}, "f")));  // ro/b.conf: not
  ASSERT_EQ(::chmod(dir.path().c_str(), 0777), 0);  // writable without privileges too
  ASSERT_EQ(::chmod((dir.path() + "/ro").c_str(), 0555), 0);
  Result<void> r;
  const bool ran = as_unprivileged([&] { r = doc.write(); });
  ::chmod((dir.path() + "/ro").c_str(), 0755);
  if (!ran) GTEST_SKIP() << "cannot drop root privileges here";
  EXPECT_NE(error_of(r).find("cannot write '" + inc + "'"), std::string::npos) << error_of(r);
  EXPECT_EQ(read(main), main_text);
  EXPECT_EQ(read(inc), inc_text);
  EXPECT_EQ(dir_entries(dir.path()), (std::vector<std::string>{"main.conf", "ro"}));  // no temporary left
  EXPECT_EQ(doc.changed_files(), (std::vector<std::string>{main, inc}));
}

// --- field tags and refusals ----------------------------------------------------------------

TEST(ConfigDocument, FieldAtMapsAParseErrorBackToTheFormField) {
  TempDir dir;
  std::string main = dir.write("main.conf", "listener 1883\nlistener 1884\n");
  ConfigDocument doc = load_ok(main);
  ASSERT_TRUE(Ok(doc.set(listener(1), "max_connections", {"abc"}, "listeners[1].max_connections")));
  ASSERT_TRUE(Ok(doc.set(kGlobal, "sys_interval", {"5"}, "general.sys_interval")));  // shifts the lines below
  ParseResult r = doc.parse();
  ASSERT_EQ(r.errors.size(), 1u) << test::all_errors(r);
  EXPECT_EQ(r.errors[0].file, main);
  EXPECT_EQ(r.errors[0].line, 4);
  EXPECT_EQ(doc.field_at(r.errors[0].file, r.errors[0].line), "listeners[1].max_connections");
  EXPECT_EQ(doc.field_at(main, 1), "general.sys_interval");
  EXPECT_EQ(doc.field_at(main, 2), "");
  EXPECT_EQ(doc.field_at(main, 99), "");
  EXPECT_EQ(doc.field_at("/other.conf", 1), "");
}

TEST(ConfigDocument, RefusedEditsSayWhyAndChangeNothing) {
  const std::string path = "/nonexistent/p.conf";
  const std::string text = "listener 1883\nconnection b\naddress h\ntopic # out\n";
  ConfigDocument doc = ConfigDocument::from_text(path, text);
  auto expect_refused = [&](const Result<void>& r, const std::string& why) {
    EXPECT_NE(error_of(r).find(why), std::string::npos) << "got: '" << error_of(r) << "', want: " << why;
  };
  expect_refused(doc.set(Target::bridge("nope"), "address", {"h"}, "f"), "no bridge named 'nope'");
  expect_refused(doc.set(listener(5), "max_qos", {"1"}, "f"), "no listener #5");
  expect_refused(doc.set(kGlobal, "max_connections", {"1"}, "f"), "is a listener option; it cannot be set globally");
  expect_refused(doc.set(listener(0), "sys_interval", {"1"}, "f"), "is a global option; it cannot be set for a listener");
  expect_refused(doc.set(Target::bridge("b"), "max_qos", {"1"}, "f"), "cannot be set for a bridge");
  expect_refused(doc.set(kGlobal, "address", {"h"}, "f"), "is a bridge option");
  expect_refused(doc.set(kGlobal, "listener", {"1884"}, "f"), "use add_listener");
  expect_refused(doc.set(Target::bridge("b"), "connection", {"c"}, "f"), "use add_bridge");
  expect_refused(doc.set(kGlobal, "include_dir", {"/d"}, "f"), "include_dir");
  expect_refused(doc.set(kGlobal, "bogus", {"1"}, "f"), "unknown option 'bogus'");
  expect_refused(doc.set(kGlobal, "sys_interval", {"5\nlistener 1"}, "f"), "line break");
  expect_refused(doc.set(kGlobal, "pid_file", {std::string("a\0b", 3)}, "f"), "NUL");
  expect_refused(doc.set(listener(0), "port", {"1884"}, "f"), "default listener");
  expect_refused(doc.add_bridge("a b", "f"), "one word");
  expect_refused(doc.add_bridge("", "f"), "missing value");
  EXPECT_FALSE(doc.add_listener("18\n83", "", "f").ok());
  EXPECT_EQ(doc.text(path), text);
}

TEST(ConfigDocument, NewLinesUseTheFilesLineEnds) {
  const std::string path = "/nonexistent/p.conf";
  ConfigDocument crlf = ConfigDocument::from_text(path, "listener 1883\r\nmax_qos 1");
  ASSERT_TRUE(Ok(crlf.set(listener(0), "max_connections", {"5"}, "f")));
  EXPECT_EQ(crlf.text(path), "listener 1883\r\nmax_qos 1\r\nmax_connections 5\r\n");

  ConfigDocument last = ConfigDocument::from_text(path, "listener 1883\nmax_qos 1");
  ASSERT_TRUE(Ok(last.set(listener(0), "max_qos", {"2"}, "f")));
  EXPECT_EQ(last.text(path), "listener 1883\nmax_qos 2");
  ASSERT_TRUE(Ok(last.add_bridge("b", "f")));
  EXPECT_EQ(last.text(path), "listener 1883\nmax_qos 2\n\nconnection b\n");

  ConfigDocument replaced = ConfigDocument::from_text(path, "listener 1883\r\nmax_qos 1\r\n");
  ASSERT_TRUE(Ok(replaced.set(listener(0), "max_qos", {"2"}, "f")));
  EXPECT_EQ(replaced.text(path), "listener 1883\r\nmax_qos 2\r\n");
}

TEST(ConfigDocument, AByteOrderMarkStaysFirst) {
  const std::string path = "/nonexistent/p.conf";
  ConfigDocument bom = ConfigDocument::from_text(path, "\xEF\xBB\xBFlistener 1883\n");
  ASSERT_TRUE(Ok(bom.set(kGlobal, "sys_interval", {"5"}, "f")));
  EXPECT_EQ(bom.text(path), "\xEF\xBB\xBFsys_interval 5\nlistener 1883\n");
  EXPECT_TRUE(bom.parse().ok()) << test::all_errors(bom.parse());
  ASSERT_TRUE(Ok(bom.set(kGlobal, "sys_interval", {"6"}, "f")));
  EXPECT_EQ(bom.text(path), "\xEF\xBB\xBFsys_interval 6\nlistener 1883\n");
}

}  // namespace
}  // namespace petrel::config
