// Mosquitto's plugin lines: the bundled password-file, ACL-file and SQLite persistence
// plugins are honoured natively; every other plugin is refused by name.
#include <gtest/gtest.h>

#include "config_test_util.h"

namespace petrel::config {
namespace {

using test::has_error;
using test::has_warning;
using test::parse;
using test::parse_ok;

TEST(ConfigPlugins, PasswordAndAclFilePluginsSetTheFiles) {
  Config c = parse_ok(
      "global_plugin /usr/lib/x86_64-linux-gnu/mosquitto_password_file.so\n"
      "plugin_opt_password_file /etc/mosquitto/passwd\n"
      "plugin /usr/lib/mosquitto_acl_file.so\n"
      "plugin_opt_acl_file /etc/mosquitto/acl\n"
      "listener 1883\n");
  EXPECT_EQ(c.security.password_file, "/etc/mosquitto/passwd");
  EXPECT_EQ(c.security.acl_file, "/etc/mosquitto/acl");
  EXPECT_EQ(effective_security(c, c.listeners.at(0)).password_file, "/etc/mosquitto/passwd");
  // Mosquitto 2.0's old names
  Config old = parse_ok("auth_plugin /opt/lib/mosquitto_password_file.so\nauth_opt_password_file /etc/p\n");
  EXPECT_EQ(old.security.password_file, "/etc/p");
}

TEST(ConfigPlugins, PerListenerSettings) {
  Config c = parse_ok(
      "per_listener_settings true\n"
      "global_plugin /usr/lib/mosquitto_password_file.so\n"
      "plugin_opt_password_file /etc/all\n"
      "listener 1883\n"
      "plugin /usr/lib/mosquitto_acl_file.so\n"
      "plugin_opt_acl_file /etc/acl-1883\n"
      "listener 1884\n"
      "password_file /etc/own\n");
  EXPECT_EQ(c.listeners.at(0).security.password_file, "/etc/all");
  EXPECT_EQ(c.listeners.at(0).security.acl_file, "/etc/acl-1883");
  EXPECT_EQ(c.listeners.at(1).security.password_file, "/etc/own") << "a listener's own file wins";
  EXPECT_EQ(c.listeners.at(1).security.acl_file, "");
}

TEST(ConfigPlugins, PersistencePluginTurnsPersistenceOn) {
  auto r = parse("global_plugin /usr/lib/mosquitto_persist_sqlite.so\nplugin_opt_flush_period 5\n"
                 "plugin_opt_sync full\npersistence_location /var/lib/mosquitto/\n");
  EXPECT_TRUE(r.errors.empty()) << test::all_errors(r);
  EXPECT_TRUE(r.config.persistence.enabled);
  EXPECT_EQ(r.config.persistence.sync, PersistenceSync::kCommit) << "never weaker than Petrel's own setting";
  EXPECT_TRUE(has_warning(r, "t.conf:2: option 'plugin_opt_flush_period': accepted, no effect in Petrel"));
  EXPECT_TRUE(has_warning(r, "t.conf:3: option 'plugin_opt_sync': accepted, no effect in Petrel"));
  EXPECT_TRUE(has_error(parse("global_plugin /usr/lib/mosquitto_persist_sqlite.so\nplugin_opt_sync sometimes\n"),
                        "t.conf:2: option 'plugin_opt_sync'"));
}

TEST(ConfigPlugins, OtherPluginsAreRefusedWithWhatPetrelOffers) {
  auto r = parse("plugin /usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so\nplugin_opt_config_file /x.json\n");
  ASSERT_EQ(r.errors.size(), 1u) << test::all_errors(r);
  EXPECT_TRUE(has_error(r, "t.conf:1: option 'plugin': '/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so': "
                           "Petrel has no Dynamic Security plugin"));
  auto o = parse("auth_plugin /usr/lib/go-auth.so\nauth_opt_backends mysql\n");
  ASSERT_EQ(o.errors.size(), 1u) << test::all_errors(o);
  EXPECT_TRUE(has_error(o, "t.conf:1: option 'auth_plugin': '/usr/lib/go-auth.so': Petrel does not load plugins"));
}

TEST(ConfigPlugins, OptionsNeedTheirPlugin) {
  EXPECT_TRUE(has_error(parse("plugin_opt_password_file /etc/p\n"),
                        "t.conf:1: option 'plugin_opt_password_file': comes before any plugin line"));
  auto r = parse("global_plugin /usr/lib/mosquitto_password_file.so\nplugin_opt_acl_file /etc/acl\n");
  EXPECT_TRUE(r.errors.empty()) << test::all_errors(r);
  EXPECT_TRUE(has_warning(r, "t.conf:2: option 'plugin_opt_acl_file': has no effect: not an option of the plugin at t.conf:1"));
  EXPECT_TRUE(r.config.security.acl_file.empty());
  EXPECT_TRUE(has_error(parse("password_file /etc/a\nglobal_plugin /usr/lib/mosquitto_password_file.so\n"
                              "plugin_opt_password_file /etc/b\n"),
                        "t.conf:3: option 'password_file': given more than once (first at t.conf:1)"));
}

}  // namespace
}  // namespace petrel::config
