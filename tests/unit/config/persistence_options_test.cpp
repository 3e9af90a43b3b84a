// The durable store's options (options_persistence.cpp): Mosquitto's persistence,
// retained_persistence, persistence_location, persistence_file, autosave_interval and
// autosave_on_changes, and Petrel's persistence_sync. Bad values name file:line; a change
// in a reload waits for a restart.
#include <gtest/gtest.h>

#include "config/diff.h"
#include "config_test_util.h"

namespace petrel::config {
namespace {

using test::has_error;
using test::has_warning;
using test::parse;
using test::parse_ok;

TEST(ConfigPersistence, DefaultsWhenEmpty) {
  const PersistenceSettings p = parse_ok("").persistence;
  EXPECT_FALSE(p.enabled);
  EXPECT_EQ(p.location, "");
  EXPECT_EQ(p.file, "petrel.db");  // not Mosquitto's mosquitto.db: the format differs
  EXPECT_EQ(p.sync, PersistenceSync::kCommit);
  EXPECT_EQ(p.sync_interval_ms, 1000u);
  EXPECT_EQ(p.autosave_interval, 1800u);
  EXPECT_FALSE(p.autosave_on_changes);
  EXPECT_FALSE(persistence_active(p));
  EXPECT_EQ(persistence_path(p), "petrel.db");  // the working directory
  EXPECT_EQ(p, default_config().persistence);
}

TEST(ConfigPersistence, DebianStockLines) {
  const PersistenceSettings p = parse_ok("persistence true\npersistence_location /var/lib/mosquitto/\n").persistence;
  EXPECT_TRUE(p.enabled);
  EXPECT_TRUE(persistence_active(p));
  EXPECT_EQ(p.location, "/var/lib/mosquitto/");
  EXPECT_EQ(persistence_path(p), "/var/lib/mosquitto/petrel.db");
}

TEST(ConfigPersistence, DebianStockFileParses) {
  test::TempDir dir;
  dir.write("conf.d/local.conf", "listener 1883\n");
  const std::string main = dir.write(
      "mosquitto.conf",
      "# Place your local configuration in /etc/mosquitto/conf.d/\n"
      "#\n"
      "# A full description of the configuration file is at\n"
      "# /usr/share/doc/mosquitto/examples/mosquitto.conf.example\n\n"
      "pid_file " + dir.path() + "/run/mosquitto.pid\n\n"
      "persistence true\n"
      "persistence_location " + dir.path() + "/lib/\n\n"
      "log_dest file " + dir.path() + "/log/mosquitto.log\n\n"
      "include_dir " + dir.path() + "/conf.d\n");
  ParseResult r = parse_config_file(main);
  ASSERT_TRUE(r.ok()) << test::all_errors(r);
  EXPECT_TRUE(r.config.persistence.enabled);
  EXPECT_EQ(persistence_path(r.config.persistence), dir.path() + "/lib/petrel.db");
}

TEST(ConfigPersistence, PathJoinsLocationAndFile) {
  auto path = [](const std::string& text) { return persistence_path(parse_ok(text).persistence); };
  EXPECT_EQ(path("persistence_location /data\n"), "/data/petrel.db");  // no trailing slash needed
  EXPECT_EQ(path("persistence_location state\n"), "state/petrel.db");   // relative to the working directory
  EXPECT_EQ(path("persistence_location /data/\npersistence_file broker.sqlite\n"), "/data/broker.sqlite");
  // An explicitly configured persistence_file is used as given, even Mosquitto's name (the
  // store then refuses a Mosquitto file rather than overwrite it).
  EXPECT_EQ(path("persistence_file mosquitto.db\n"), "mosquitto.db");
  EXPECT_EQ(path("persistence_location /data/\npersistence_file /srv/petrel.db\n"), "/srv/petrel.db");
  EXPECT_EQ(path("persistence_location /my data/\n"), "/my data/petrel.db");  // the whole rest of the line
}

TEST(ConfigPersistence, RetainedPersistenceIsTheOldName) {
  EXPECT_TRUE(parse_ok("retained_persistence true\n").persistence.enabled);
  EXPECT_FALSE(parse_ok("retained_persistence true\npersistence false\n").persistence.enabled);
  EXPECT_EQ(find_option("retained_persistence")->alias_of, "persistence");
}

TEST(ConfigPersistence, SyncModes) {
  EXPECT_EQ(parse_ok("persistence_sync commit\n").persistence.sync, PersistenceSync::kCommit);
  const PersistenceSettings off = parse_ok("persistence true\npersistence_sync off\n").persistence;
  EXPECT_EQ(off.sync, PersistenceSync::kOff);
  EXPECT_FALSE(persistence_active(off));  // memory only
  const PersistenceSettings iv = parse_ok("persistence_sync interval 250\n").persistence;
  EXPECT_EQ(iv.sync, PersistenceSync::kInterval);
  EXPECT_EQ(iv.sync_interval_ms, 250u);
  EXPECT_EQ(parse_ok("persistence_sync interval 3600000 # an hour\n").persistence.sync_interval_ms, 3600000u);
}

TEST(ConfigPersistence, BadValuesNameFileAndLine) {
  auto first = [](const std::string& text) {
    ParseResult r = parse(text);
    return r.errors.empty() ? std::string() : format_error(r.errors.front());
  };
  EXPECT_EQ(first("listener 1883\npersistence maybe\n"),
            "t.conf:2: option 'persistence': expected true or false, got 'maybe'");
  EXPECT_EQ(first("persistence_sync sometimes\n"),
            "t.conf:1: option 'persistence_sync': expected commit, interval MS (MS: 1..3600000) or off, got "
            "'sometimes'");
  EXPECT_TRUE(has_error(parse("persistence_sync comit\n"), "(did you mean 'commit'?)"));
  EXPECT_TRUE(has_error(parse("persistence_sync\n"), "t.conf:1: option 'persistence_sync': missing value"));
  EXPECT_TRUE(has_error(parse("persistence_sync interval\n"), "'interval' needs the commit interval in milliseconds"));
  for (const char* ms : {"0", "-5", "10x", "3600001"}) {
    EXPECT_TRUE(has_error(parse(std::string("persistence_sync interval ") + ms + "\n"),
                          std::string("expected the commit interval in milliseconds (an integer 1..3600000), got '") +
                              ms + "'"))
        << ms;
  }
  EXPECT_TRUE(has_error(parse("persistence_sync commit 5\n"), "unexpected extra value '5'"));
  EXPECT_TRUE(has_error(parse("persistence_sync interval 5 6\n"), "unexpected extra value '6'"));
  EXPECT_TRUE(has_error(parse("autosave_interval soon\n"), "t.conf:1: option 'autosave_interval': expected an integer"));
  EXPECT_TRUE(has_error(parse("autosave_on_changes often\n"), "option 'autosave_on_changes': expected true or false"));
  EXPECT_TRUE(has_error(parse("persistence_location\n"), "option 'persistence_location': missing value"));
  EXPECT_TRUE(has_error(parse("persistence_file /var/lib/\n"), "names a directory"));
  // Mosquitto refuses a second value of a string option.
  EXPECT_TRUE(has_error(parse("persistence_location /a/\npersistence_location /b/\n"),
                        "t.conf:2: option 'persistence_location': given more than once (first at t.conf:1)"));
}

TEST(ConfigPersistence, AutosaveOptionsAreAcceptedWithTheirMeaning) {
  const PersistenceSettings p = parse_ok("autosave_interval 60\nautosave_on_changes true\n").persistence;
  EXPECT_EQ(p.autosave_interval, 60u);
  EXPECT_TRUE(p.autosave_on_changes);
  EXPECT_EQ(parse_ok("autosave_interval 0\n").persistence.autosave_interval, 0u);
  ParseResult neg = parse("autosave_interval -5\n");  // Mosquitto: 0
  EXPECT_TRUE(neg.ok());
  EXPECT_EQ(neg.config.persistence.autosave_interval, 0u);
  EXPECT_TRUE(has_warning(neg, "t.conf:1: option 'autosave_interval': negative value -5 means 0"));
}

TEST(ConfigPersistence, EveryChangeWaitsForARestart) {
  const Config base = parse_ok("listener 1883\npersistence true\npersistence_location /a/\n");
  for (const char* line : {"persistence false", "retained_persistence false", "persistence_location /b/",
                           "persistence_file other.db", "persistence_sync interval 100", "persistence_sync off",
                           "autosave_interval 60", "autosave_on_changes true"}) {
    std::string text = "listener 1883\npersistence true\npersistence_location /a/\n" + std::string(line) + "\n";
    if (std::string(line).starts_with("persistence_location")) text = "listener 1883\npersistence true\n" + std::string(line) + "\n";
    const ConfigDiff d = diff_configs(base, parse_ok(text));
    ASSERT_EQ(d.restart_required.size(), 1u) << line;
    EXPECT_EQ(d.restart_required[0].effect, Effect::kRestartProcess) << line;
    EXPECT_FALSE(d.limits_changed) << line;
    EXPECT_NE(d.restart_required[0].describe().find("(needs a restart of petrel)"), std::string::npos) << line;
  }
  const ConfigDiff d = diff_configs(base, parse_ok("listener 1883\npersistence true\npersistence_location /a/\n"
                                                   "persistence_sync interval 100\n"));
  EXPECT_EQ(d.restart_required[0].describe(), "persistence_sync: commit -> interval 100 (needs a restart of petrel)");
}

TEST(ConfigPersistence, ReadBackInTheOptionsOwnSyntax) {
  const Config c = parse_ok("persistence true\npersistence_location /x/\npersistence_sync interval 20\n");
  EXPECT_EQ(read_option(*find_option("persistence"), c, nullptr, nullptr), "true");
  EXPECT_EQ(read_option(*find_option("persistence_location"), c, nullptr, nullptr), "/x/");
  EXPECT_EQ(read_option(*find_option("persistence_file"), c, nullptr, nullptr), "petrel.db");
  EXPECT_EQ(read_option(*find_option("persistence_sync"), c, nullptr, nullptr), "interval 20");
  EXPECT_EQ(read_option(*find_option("autosave_interval"), c, nullptr, nullptr), "1800");
}

}  // namespace
}  // namespace petrel::config
