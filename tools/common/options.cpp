// The flag table shared by petrel_pub, petrel_sub and petrel_rr, and the argument loop.
#include "tools/common/options.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <functional>

#include "client/socks5.h"
#include "protocol/topic.h"

namespace petrel::tools {

namespace {

constexpr unsigned kPub = 1, kSub = 2, kRr = 4, kAll = 7;

using Args = std::vector<std::string>;
using Handler = std::function<ParseResult(Config&, const Args&)>;

struct Flag {
  const char* short_name;  // may be null
  const char* long_name;   // may be null
  int nargs;               // values after the flag (-D: 3, a 4th for user-property)
  unsigned tools;
  const char* what;        // for "X argument given but no WHAT specified."
  Handler handle;
};

ParseResult ok() { return {}; }
ParseResult err(std::string msg) { return {ParseStatus::kError, std::move(msg), true}; }

std::optional<long long> to_int(const std::string& s) {
  if (s.empty()) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (errno != 0 || *end != '\0') return std::nullopt;
  return v;
}

std::optional<double> to_double(const std::string& s) {
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (*end != '\0' || std::isnan(v)) return std::nullopt;
  return v;
}

ParseResult set_qos(int& out, const std::string& v, const char* what = "QoS") {
  auto q = to_int(v);
  if (!q || *q < 0 || *q > 2) return err(std::string("Invalid ") + what + " given: " + v);
  out = int(*q);
  return ok();
}

ParseResult set_pub_mode(Config& c, PubMode m) {
  if (c.pub_mode != PubMode::kNone) return err("Only one type of message can be sent at once.");
  c.pub_mode = m;
  return ok();
}

ParseResult set_version(Config& c, const std::string& v) {
  if (v == "mqttv31" || v == "31") c.version = protocol::Version::kV31;
  else if (v == "mqttv311" || v == "311") c.version = protocol::Version::kV311;
  else if (v == "mqttv5" || v == "5") c.version = protocol::Version::kV5;
  else return err("Invalid protocol version argument given.");
  return ok();
}

ParseResult set_session_expiry(Config& c, const std::string& v) {
  if (v == "-1" || v == "\xE2\x88\x9E") {  // -1 or the infinity sign: never expires
    c.session_expiry = 0xFFFFFFFFu;
    return ok();
  }
  auto n = to_int(v);
  if (!n || *n < 0 || *n > 0xFFFFFFFFll) return err("Invalid session expiry interval given: " + v);
  c.session_expiry = uint32_t(*n);
  return ok();
}

// The table, in groups. Handlers get exactly `nargs` values.
// TLS and transport security
void tls_flags(std::vector<Flag>& t) {
  t.insert(t.end(), {
    {"-A", nullptr, 1, kAll, "address", [](Config& c, const Args& a) { c.bind_address = a[0]; return ok(); }},
    {nullptr, "--cafile", 1, kAll, "file", [](Config& c, const Args& a) { c.cafile = a[0]; return ok(); }},
    {nullptr, "--capath", 1, kAll, "path", [](Config& c, const Args& a) { c.capath = a[0]; return ok(); }},
    {nullptr, "--cert", 1, kAll, "file", [](Config& c, const Args& a) { c.certfile = a[0]; return ok(); }},
    {nullptr, "--key", 1, kAll, "file", [](Config& c, const Args& a) { c.keyfile = a[0]; return ok(); }},
    {nullptr, "--ciphers", 1, kAll, "ciphers", [](Config& c, const Args& a) { c.ciphers = a[0]; return ok(); }},
    {nullptr, "--tls-version", 1, kAll, "version", [](Config& c, const Args& a) { c.tls_version = a[0]; return ok(); }},
    {nullptr, "--tls-alpn", 1, kAll, "protocol", [](Config& c, const Args& a) { c.tls_alpn = a[0]; return ok(); }},
    {nullptr, "--tls-keylog", 1, kAll, "file", [](Config& c, const Args& a) { c.keylog = a[0]; return ok(); }},
    {nullptr, "--tls-engine", 1, kAll, "engine_id", [](Config& c, const Args& a) { c.tls_engine = a[0]; return ok(); }},
    {nullptr, "--keyform", 1, kAll, "keyform", [](Config& c, const Args& a) {
       std::string form = a[0];  // case-insensitive, as in mosquitto
       for (char& ch : form) ch = char(std::tolower(static_cast<unsigned char>(ch)));
       if (form != "pem" && form != "engine")
         return ParseResult{ParseStatus::kError, "Problem setting key form, it must be one of 'pem' or 'engine'.", false};
       c.keyform = form;
       return ok();
     }},
    {nullptr, "--tls-engine-kpass-sha1", 1, kAll, "kpass sha1", [](Config& c, const Args& a) { c.tls_engine_kpass = a[0]; return ok(); }},
    {nullptr, "--tls-use-os-certs", 0, kAll, "", [](Config& c, const Args&) { c.use_os_certs = true; return ok(); }},
    {nullptr, "--insecure", 0, kAll, "", [](Config& c, const Args&) { c.insecure = true; return ok(); }},
    {nullptr, "--no-tls", 0, kAll, "", [](Config& c, const Args&) { c.no_tls = true; return ok(); }},
    {nullptr, "--psk", 1, kAll, "key", [](Config& c, const Args& a) { c.psk_hex = a[0]; return ok(); }},
    {nullptr, "--psk-identity", 1, kAll, "identity", [](Config& c, const Args& a) { c.psk_identity = a[0]; return ok(); }},
    {nullptr, "--proxy", 1, kAll, "proxy url", [](Config& c, const Args& a) {
       std::string e;
       c.proxy = client::socks5::parse_url(a[0], e);
       return c.proxy ? ok() : err(e);
     }},
  });
}

// connection, session, will
void session_flags(std::vector<Flag>& t) {
  t.insert(t.end(), {
    {"-c", "--disable-clean-session", 0, kAll, "", [](Config& c, const Args&) { c.clean_session = false; return ok(); }},
    {"-d", "--debug", 0, kAll, "", [](Config& c, const Args&) { c.debug = true; return ok(); }},
    {"-h", "--host", 1, kAll, "host", [](Config& c, const Args& a) { c.host = a[0]; return ok(); }},
    {"-i", "--id", 1, kAll, "id", [](Config& c, const Args& a) {
       if (!c.id_prefix.empty()) return err("-i and -I argument cannot be used together.");
       c.id = a[0];
       return ok();
     }},
    {"-I", "--id-prefix", 1, kAll, "id prefix", [](Config& c, const Args& a) {
       if (!c.id.empty()) return err("-i and -I argument cannot be used together.");
       c.id_prefix = a[0];
       return ok();
     }},
    {"-k", "--keepalive", 1, kAll, "keepalive", [](Config& c, const Args& a) {
       auto k = to_int(a[0]);
       if (!k || *k < 5 || *k > 65535)
         return err("Invalid keepalive given, it must be between 5 and 65535 inclusive.");
       c.keepalive = int(*k);
       return ok();
     }},
    {"-L", "--url", 1, kAll, "URL", [](Config& c, const Args& a) { return parse_url(a[0], c); }},
    {"-M", nullptr, 1, kPub, "max inflight", [](Config& c, const Args& a) {
       auto m = to_int(a[0]);
       if (!m || *m < 1 || *m > 65535) return err("Maximum inflight messages must be between 1 and 65535.");
       c.max_inflight = int(*m);
       return ok();
     }},
    {nullptr, "--nodelay", 0, kAll, "", [](Config& c, const Args&) { c.nodelay = true; return ok(); }},
    {"-p", "--port", 1, kAll, "port", [](Config& c, const Args& a) {
       auto p = to_int(a[0]);
       if (!p || *p < 1 || *p > 65535) return err("Invalid port given: " + a[0]);
       c.port = int(*p);
       return ok();
     }},
    {"-P", "--pw", 1, kAll, "password", [](Config& c, const Args& a) { c.password = a[0]; return ok(); }},
    {"-u", "--username", 1, kAll, "username", [](Config& c, const Args& a) { c.username = a[0]; return ok(); }},
    {"-q", "--qos", 1, kAll, "QoS", [](Config& c, const Args& a) { return set_qos(c.qos, a[0]); }},
    {nullptr, "--quiet", 0, kAll, "", [](Config& c, const Args&) { c.quiet = true; return ok(); }},
    {"-t", "--topic", 1, kAll, "topic", [](Config& c, const Args& a) {
       if (c.tool != Tool::kSub) c.topics.clear();  // pub/rr: the last -t wins, as in mosquitto
       c.topics.push_back(a[0]);
       return ok();
     }},
    {nullptr, "--unix", 1, kAll, "socket path", [](Config& c, const Args& a) { c.unix_path = a[0]; return ok(); }},
    {"-V", "--protocol-version", 1, kAll, "protocol version", [](Config& c, const Args& a) { return set_version(c, a[0]); }},
    {nullptr, "--will-payload", 1, kAll, "payload", [](Config& c, const Args& a) { c.will_payload = a[0]; return ok(); }},
    {nullptr, "--will-qos", 1, kAll, "QoS", [](Config& c, const Args& a) { return set_qos(c.will_qos, a[0], "will QoS"); }},
    {nullptr, "--will-retain", 0, kAll, "", [](Config& c, const Args&) { c.will_retain = true; return ok(); }},
    {nullptr, "--will-topic", 1, kAll, "topic", [](Config& c, const Args& a) {
       if (!protocol::valid_topic_name(a[0]))
         return err("Invalid will topic '" + a[0] + "', does it contain '+' or '#'?");
       c.will_topic = a[0];
       return ok();
     }},
    {"-x", "--session-expiry-interval", 1, kAll, "session expiry interval", [](Config& c, const Args& a) { return set_session_expiry(c, a[0]); }},
    {nullptr, "--ws", 0, kAll, "", [](Config& c, const Args&) { c.ws = true; return ok(); }},
  });
}

// message source and publish options
void publish_flags(std::vector<Flag>& t) {
  t.insert(t.end(), {
    {"-f", "--file", 1, kPub | kRr, "file", [](Config& c, const Args& a) { c.file = a[0]; return set_pub_mode(c, PubMode::kFile); }},
    {"-l", "--stdin-line", 0, kPub, "", [](Config& c, const Args&) { return set_pub_mode(c, PubMode::kStdinLine); }},
    {"-m", "--message", 1, kPub | kRr, "message", [](Config& c, const Args& a) { c.message = a[0]; return set_pub_mode(c, PubMode::kMessage); }},
    {"-n", "--null-message", 0, kPub | kRr, "", [](Config& c, const Args&) { return set_pub_mode(c, PubMode::kNull); }},
    {"-s", "--stdin-file", 0, kPub | kRr, "", [](Config& c, const Args&) { return set_pub_mode(c, PubMode::kStdinFile); }},
    {"-r", "--retain", 0, kPub, "", [](Config& c, const Args&) { c.retain = true; return ok(); }},
    {nullptr, "--repeat", 1, kPub, "count", [](Config& c, const Args& a) {
       auto n = to_int(a[0]);
       if (!n || *n < 1 || *n > 0x7FFFFFFF) return err("--repeat argument must be >0.");
       c.repeat_count = int(*n);
       return ok();
     }},
    {nullptr, "--repeat-delay", 1, kPub, "time", [](Config& c, const Args& a) {
       auto d = to_double(a[0]);
       if (!d || *d < 0) return err("--repeat-delay argument must be >=0.0.");
       c.repeat_delay = *d;
       return ok();
     }},
  });
}

// subscribing and output
void output_flags(std::vector<Flag>& t) {
  t.insert(t.end(), {
    {"-C", nullptr, 1, kSub, "count", [](Config& c, const Args& a) {
       auto n = to_int(a[0]);
       if (!n || *n < 1 || *n > 0x7FFFFFFF) return err("Invalid message count \"" + a[0] + "\".");
       c.msg_count = int(*n);
       return ok();
     }},
    {"-E", nullptr, 0, kSub, "", [](Config& c, const Args&) { c.exit_after_sub = true; return ok(); }},
    {"-F", nullptr, 1, kSub | kRr, "format", [](Config& c, const Args& a) { c.format = a[0]; return ok(); }},
    {"-N", nullptr, 0, kSub | kRr, "", [](Config& c, const Args&) { c.eol = false; return ok(); }},
    {"-R", nullptr, 0, kSub | kRr, "", [](Config& c, const Args&) { c.no_retain = true; return ok(); }},
    {"-T", "--filter-out", 1, kSub, "topic filter", [](Config& c, const Args& a) {
       if (!protocol::valid_topic_filter(a[0]))
         return err("Invalid filter topic '" + a[0] + "', are all '+' and '#' wildcards correct?");
       c.filter_outs.push_back(a[0]);
       return ok();
     }},
    {"-U", "--unsubscribe", 1, kSub, "unsubscribe topic", [](Config& c, const Args& a) {
       if (!protocol::valid_topic_filter(a[0]))
         return err("Invalid unsubscribe topic '" + a[0] + "', are all '+' and '#' wildcards correct?");
       c.unsub_topics.push_back(a[0]);
       return ok();
     }},
    {"-v", "--verbose", 0, kSub | kRr, "", [](Config& c, const Args&) { c.verbose = true; return ok(); }},
    {"-W", nullptr, 1, kSub | kRr, "timeout", [](Config& c, const Args& a) {
       auto n = to_int(a[0]);
       if (!n || *n < 1 || *n > 0x7FFFFFFF) return err("Invalid timeout \"" + a[0] + "\".");
       c.timeout = int(*n);
       return ok();
     }},
    {nullptr, "--pretty", 0, kSub | kRr, "", [](Config& c, const Args&) { c.pretty = true; return ok(); }},
    {nullptr, "--random-filter", 1, kSub, "chance", [](Config& c, const Args& a) {
       auto d = to_double(a[0]);
       if (!d || *d < 0.1 || *d > 100) return err("--random-filter chance must be between 0.1-100.0");
       c.random_filter = *d;
       return ok();
     }},
    {nullptr, "--remove-retained", 0, kSub, "", [](Config& c, const Args&) { c.remove_retained = true; return ok(); }},
    {nullptr, "--retained-only", 0, kSub, "", [](Config& c, const Args&) { c.retained_only = true; return ok(); }},
    {nullptr, "--retain-as-published", 0, kSub, "", [](Config& c, const Args&) { c.retain_as_published = true; return ok(); }},
    {nullptr, "--retain-handling", 1, kSub | kRr, "retain handling", [](Config& c, const Args& a) {
       if (a[0] == "always") c.retain_handling = 0;
       else if (a[0] == "new") c.retain_handling = 1;
       else if (a[0] == "never") c.retain_handling = 2;
       else return err("Invalid --retain-handling value \"" + a[0] + "\" (always, new or never).");
       return ok();
     }},
    {"-e", "--response-topic", 1, kRr, "response topic", [](Config& c, const Args& a) {
       if (!protocol::valid_topic_name(a[0]))
         return err("Invalid response topic '" + a[0] + "', does it contain '+' or '#'?");
       c.response_topic = a[0];
       return ok();
     }},
  });
}

const std::vector<Flag>& flags() {
  static const std::vector<Flag> table = [] {
    std::vector<Flag> t;
    tls_flags(t);
    session_flags(t);
    publish_flags(t);
    output_flags(t);
    return t;
  }();
  return table;
}

unsigned tool_bit(Tool t) { return t == Tool::kPub ? kPub : t == Tool::kSub ? kSub : kRr; }

const Flag* find_flag(const std::string& name, Tool tool) {
  for (const auto& f : flags()) {
    if (!(f.tools & tool_bit(tool))) continue;
    if ((f.short_name && name == f.short_name) || (f.long_name && name == f.long_name)) return &f;
  }
  return nullptr;
}

ParseResult property_flag(const Args& args, size_t& i, Config& cfg) {
  const std::string flag = args[i];
  if (i + 1 >= args.size()) return err(flag + " argument given but no property command specified.");
  if (i + 2 >= args.size()) return err(flag + " argument given but no property identifier specified.");
  if (i + 3 >= args.size()) return err(flag + " argument given but no property value specified.");
  const std::string& cmd = args[i + 1];
  const std::string& name = args[i + 2];
  const std::string& value = args[i + 3];
  const std::string* value2 = nullptr;
  if (name == "user-property") {
    if (i + 4 >= args.size()) return err(flag + " argument given but no user property value specified.");
    value2 = &args[i + 4];
  }
  i += value2 ? 4 : 3;
  return add_property(cfg, cmd, name, value, value2);
}

}  // namespace

const char* tool_name(Tool t) {
  switch (t) {
    case Tool::kPub: return "petrel_pub";
    case Tool::kSub: return "petrel_sub";
    case Tool::kRr: return "petrel_rr";
  }
  return "petrel";
}

ParseResult parse_args(const Args& args, Config& cfg, int depth) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help") return {ParseStatus::kHelp, {}, false};
    if (a == "-D" || a == "--property") {
      if (auto r = property_flag(args, i, cfg); r.status != ParseStatus::kOk) return r;
      continue;
    }
    if (a == "-o") {
      if (i + 1 >= args.size()) return err("-o argument given but no options file specified.");
      if (depth > 4) return err("Options files nested too deeply.");
      if (auto r = load_options_file(args[++i], cfg, false, depth + 1); r.status != ParseStatus::kOk) return r;
      continue;
    }
    const Flag* f = find_flag(a, cfg.tool);
    if (!f) return err("Unknown option '" + a + "'.");
    if (i + size_t(f->nargs) >= args.size())
      return err(a + " argument given but no " + f->what + " specified.");
    Args vals(args.begin() + long(i) + 1, args.begin() + long(i) + 1 + f->nargs);
    i += size_t(f->nargs);
    if (auto r = f->handle(cfg, vals); r.status != ParseStatus::kOk) return r;
  }
  return {};
}

}  // namespace petrel::tools
