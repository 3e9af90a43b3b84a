#pragma once
// Command line of petrel_pub / petrel_sub / petrel_rr: the flags of mosquitto_pub /
// mosquitto_sub / mosquitto_rr 2.0 plus 2.1's --ws, --no-tls, --tls-keylog and -o FILE.
// One table of flags (options.cpp) is shared by the three tools; each flag says which
// tools accept it. Parsing order is mosquitto's: the defaults file
// (~/.config/petrel_pub, ~/.config/petrel_sub, ~/.config/petrel_rr; $XDG_CONFIG_HOME
// first), then the command line (where -o FILE reads more options from a file), then the
// cross-flag checks.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "client/transport.h"
#include "protocol/properties.h"
#include "protocol/types.h"

namespace petrel::tools {

enum class Tool { kPub, kSub, kRr };

enum class PubMode { kNone, kMessage, kFile, kStdinFile, kStdinLine, kNull };

struct Config {
  Tool tool = Tool::kPub;
  // connection
  std::string host;  // empty = localhost
  int port = -1;     // -1 = 1883, or 8883 with TLS
  std::string unix_path;
  std::string bind_address;
  bool nodelay = false;
  bool ws = false;
  std::string ws_path = "/mqtt";
  // session
  std::string id, id_prefix;
  int keepalive = 60;
  bool clean_session = true;
  std::optional<uint32_t> session_expiry;  // -x
  protocol::Version version = protocol::Version::kV311;
  std::optional<std::string> username, password;
  int max_inflight = 20;
  // will
  std::string will_topic;
  std::optional<std::string> will_payload;
  int will_qos = 0;
  bool will_retain = false;
  // TLS
  std::string cafile, capath, certfile, keyfile, ciphers, tls_version, tls_alpn, keylog;
  std::string tls_engine, keyform, tls_engine_kpass;
  bool insecure = false, use_os_certs = false, no_tls = false, url_tls = false;
  std::string psk_hex, psk_identity;
  std::optional<client::ProxyOptions> proxy;  // --proxy socks5h://...
  // v5 properties per command (-D)
  protocol::Properties connect_props, publish_props, subscribe_props, unsubscribe_props,
      disconnect_props, will_props;
  // output
  bool debug = false, quiet = false;
  // publishing (pub, rr)
  std::vector<std::string> topics;  // pub/rr: the first is the topic; sub: all filters
  PubMode pub_mode = PubMode::kNone;
  std::string message, file;
  int qos = 0;
  bool retain = false;
  int repeat_count = 1;
  double repeat_delay = 0;
  // subscribing (sub, rr)
  std::vector<std::string> filter_outs, unsub_topics;
  int msg_count = 0;
  bool exit_after_sub = false;
  int timeout = 0;
  bool no_retain = false, retained_only = false, remove_retained = false;
  bool retain_as_published = false;
  int retain_handling = 0;
  double random_filter = 100.0;
  bool verbose = false, eol = true, pretty = false;
  std::string format;
  // rr
  std::string response_topic;

  bool tls_enabled() const {
    return !no_tls && (url_tls || !cafile.empty() || !capath.empty() || !psk_hex.empty() ||
                       use_os_certs);
  }
};

enum class ParseStatus { kOk, kHelp, kError };

struct ParseResult {
  ParseStatus status = ParseStatus::kOk;
  std::string error;       // without the "Error: " prefix
  bool show_usage = true;  // add the "--help" hint
};

// Parses the command line (argv[0] excluded) after the defaults file.
ParseResult parse_command_line(Tool tool, const std::vector<std::string>& args, Config& cfg);

// Parses a list of arguments into cfg (no defaults file, no final checks): used by the
// defaults/options file readers and by tests.
ParseResult parse_args(const std::vector<std::string>& args, Config& cfg, int depth = 0);

// Reads an options file: one option per line ("-h host", "--qos 1"), # comments. A
// missing file is not an error when optional.
ParseResult load_options_file(const std::string& path, Config& cfg, bool optional, int depth);

// Checks across flags after parsing (missing topic, -c without id, ...).
ParseResult finish(Config& cfg);

// -L URL: mqtt(s)://[user[:pass]@]host[:port]/topic, ws(s)://... too.
ParseResult parse_url(const std::string& url, Config& cfg);

// -D COMMAND NAME VALUE [VALUE]: adds the property to the right set.
ParseResult add_property(Config& cfg, const std::string& command, const std::string& name,
                         const std::string& value, const std::string* value2);

const char* tool_name(Tool t);
std::string usage(Tool t);

}  // namespace petrel::tools
