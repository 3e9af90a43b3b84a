// TlsContext with an OpenSSL ENGINE (--tls-engine, --keyform engine,
// --tls-engine-kpass-sha1): an unknown engine id, an engine that cannot initialise, and an
// in-process test engine registered with ENGINE_add that records what the context does
// with it (init/finish, the SECRET_MODE and PIN controls, the key ids it is asked for,
// the password prompt it answers). The certificate and keys are made in memory.
//
// The ENGINE API is deprecated in OpenSSL 3 (still present): warnings silenced here only.
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <gtest/gtest.h>
#include <openssl/engine.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ui.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "client/tls_context.h"

namespace petrel::client {
namespace {

constexpr const char* kEngineId = "petrel-test-engine";
constexpr const char* kNoCtrlEngineId = "petrel-test-engine-noctrl";
constexpr const char* kPin = "1234";

// ---- a certificate and two keys, in a temporary directory --------------------------------
struct Pki {
  std::filesystem::path dir;
  EVP_PKEY* key = nullptr;    // matches cert
  EVP_PKEY* other = nullptr;  // matches nothing
  std::string cert, keyfile;

  Pki() {
    dir = std::filesystem::temp_directory_path() /
          ("petrel-engine-test-" + std::to_string(::getpid()) + "-" +
           std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    std::filesystem::create_directories(dir);
    key = EVP_EC_gen("P-256");
    other = EVP_EC_gen("P-256");
    X509* x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, key);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("engine-client"),
                               -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509_sign(x, key, EVP_sha256());
    cert = (dir / "client.crt").string();
    keyfile = (dir / "client.key").string();
    if (FILE* f = std::fopen(cert.c_str(), "w")) {
      PEM_write_X509(f, x);
      std::fclose(f);
    }
    if (FILE* f = std::fopen(keyfile.c_str(), "w")) {
      PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
      std::fclose(f);
    }
    X509_free(x);
  }
  ~Pki() {
    EVP_PKEY_free(key);
    EVP_PKEY_free(other);
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

Pki& pki() {
  static Pki p;
  return p;
}

// ---- the test engine ----------------------------------------------------------------------
struct EngineLog {
  int inits = 0, finishes = 0;
  long secret_mode = -1;
  std::string pin;  // the PIN control's 20 bytes
  std::string key_id;
  bool prompted = false;
};
EngineLog g_log;

int engine_init(ENGINE*) { return ++g_log.inits, 1; }
int engine_finish(ENGINE*) { return ++g_log.finishes, 1; }

const ENGINE_CMD_DEFN kCmds[] = {
    {ENGINE_CMD_BASE, "SECRET_MODE", "how PIN is given (0x1000 = SHA1)", ENGINE_CMD_FLAG_NUMERIC},
    {ENGINE_CMD_BASE + 1, "PIN", "the key password", ENGINE_CMD_FLAG_STRING},
    {0, nullptr, nullptr, 0}};

int engine_ctrl(ENGINE*, int cmd, long i, void* p, void (*)(void)) {
  if (cmd == ENGINE_CMD_BASE) return g_log.secret_mode = i, 1;
  if (cmd == ENGINE_CMD_BASE + 1 && p) return g_log.pin.assign(static_cast<const char*>(p), 20), 1;
  return 0;
}

// Key ids: "good-key" (matches the certificate), "other-key" (does not), "pin-key" (asks
// for PIN 1234 through the UI it is given); anything else cannot be loaded.
EVP_PKEY* engine_load_key(ENGINE*, const char* id, UI_METHOD* ui_method, void* cb_data) {
  g_log.key_id = id;
  EVP_PKEY* k = nullptr;
  if (g_log.key_id == "good-key") k = pki().key;
  if (g_log.key_id == "other-key") k = pki().other;
  if (g_log.key_id == "pin-key") {
    g_log.prompted = true;
    UI* ui = UI_new_method(ui_method);
    UI_add_user_data(ui, cb_data);
    char buf[64] = {};
    UI_add_input_string(ui, "PIN: ", 0, buf, 1, sizeof buf - 1);
    const bool ok = UI_process(ui) == 0 && std::string(buf) == kPin;
    UI_free(ui);
    if (ok) k = pki().key;
  }
  if (k) EVP_PKEY_up_ref(k);
  return k;
}

// The test engine's RAND: OpenSSL's own, so that making it the default changes nothing
// but ENGINE_get_default_RAND(), which shows whether the context's defaults are in force.
RAND_METHOD g_rand;

void register_engine(const char* id, bool with_ctrl) {
  if (ENGINE* found = ENGINE_by_id(id)) {
    ENGINE_free(found);
    return;
  }
  ERR_clear_error();
  ENGINE* e = ENGINE_new();
  ENGINE_set_id(e, id);
  ENGINE_set_name(e, "Petrel unit test engine");
  ENGINE_set_init_function(e, engine_init);
  ENGINE_set_finish_function(e, engine_finish);
  ENGINE_set_load_privkey_function(e, engine_load_key);
  if (with_ctrl) {
    ENGINE_set_ctrl_function(e, engine_ctrl);
    ENGINE_set_cmd_defns(e, kCmds);
    g_rand = *RAND_OpenSSL();
    ENGINE_set_RAND(e, &g_rand);
  }
  ENGINE_add(e);  // the engine list keeps its own reference
  ENGINE_free(e);
}

class TlsEngineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    register_engine(kEngineId, true);
    register_engine(kNoCtrlEngineId, false);
  }
  void SetUp() override { g_log = EngineLog{}; }

  static TlsOptions engine_key(const std::string& key_id) {
    TlsOptions o;
    o.engine = kEngineId;
    o.certfile = pki().cert;
    o.keyfile = key_id;
    o.key_from_engine = true;
    return o;
  }
  static std::string create_error(const TlsOptions& o) {
    std::string error;
    auto ctx = TlsContext::create(o, error);
    return ctx ? std::string("(no error)") : error;
  }
};

TEST_F(TlsEngineTest, UnknownEngineIsOneLineAsInMosquitto) {
  std::string error;
  EXPECT_FALSE(tls_engine_exists("no-such-engine", error));
  EXPECT_EQ(error, "Problem setting TLS engine, is no-such-engine a valid engine?");
  TlsOptions o;
  o.engine = "no-such-engine";
  EXPECT_EQ(create_error(o), "Problem setting TLS engine, is no-such-engine a valid engine?");
  EXPECT_EQ(ERR_peek_error(), 0u);  // nothing left on OpenSSL's error queue
}

TEST_F(TlsEngineTest, EngineThatCannotInitialiseIsRefused) {
  // "dynamic" is built into OpenSSL but cannot initialise without a library to load.
  std::string error;
  EXPECT_TRUE(tls_engine_exists("dynamic", error)) << error;
  TlsOptions o;
  o.engine = "dynamic";
  const std::string e = create_error(o);
  EXPECT_EQ(e.rfind("Unable to initialise TLS engine 'dynamic'", 0), 0u) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos) << e;
}

TEST_F(TlsEngineTest, EngineIsHeldByTheContextAndReleasedWithIt) {
  TlsOptions o;
  o.engine = kEngineId;
  std::string error;
  auto ctx = TlsContext::create(o, error);
  ASSERT_TRUE(ctx) << error;
  EXPECT_EQ(g_log.inits, 1);
  EXPECT_EQ(g_log.finishes, 0);
  ctx.reset();
  EXPECT_EQ(g_log.finishes, 1);
}

ENGINE* default_rand() {
  ENGINE* e = ENGINE_get_default_RAND();  // a functional reference, or null
  if (e) ENGINE_finish(e);
  return e;
}

TEST_F(TlsEngineTest, EngineIsOpenSslsDefaultWhileAContextUsesIt) {
  TlsOptions o;
  o.engine = kEngineId;
  std::string error;
  auto first = TlsContext::create(o, error);
  ASSERT_TRUE(first) << error;
  ENGINE* e = default_rand();
  ASSERT_NE(e, nullptr);
  EXPECT_STREQ(ENGINE_get_id(e), kEngineId);
  auto second = TlsContext::create(o, error);  // a reconnection's context, say
  ASSERT_TRUE(second) << error;
  first.reset();
  EXPECT_EQ(default_rand(), e);  // still in use by the second
  EXPECT_EQ(g_log.finishes, 0);
  second.reset();
  EXPECT_EQ(default_rand(), nullptr);  // unregistered with the last one...
  EXPECT_EQ(g_log.finishes, 1);       // ...and finished then, not at exit
  unsigned char buf[16];
  EXPECT_EQ(RAND_bytes(buf, sizeof buf), 1);
}

TEST_F(TlsEngineTest, FailedContextReleasesTheEngineToo) {
  EXPECT_NE(create_error(engine_key("missing-key")), "(no error)");
  EXPECT_EQ(g_log.inits, 1);
  EXPECT_EQ(g_log.finishes, 1);
}

TEST_F(TlsEngineTest, PemKeyFileWithAnEngine) {
  TlsOptions o;
  o.engine = kEngineId;
  o.certfile = pki().cert;
  o.keyfile = pki().keyfile;
  EXPECT_EQ(create_error(o), "(no error)");
  EXPECT_EQ(g_log.key_id, "");  // the engine was not asked for the key
}

TEST_F(TlsEngineTest, KeyIdIsLoadedThroughTheEngine) {
  std::string error;
  auto ctx = TlsContext::create(engine_key("good-key"), error);
  ASSERT_TRUE(ctx) << error;
  EXPECT_EQ(g_log.key_id, "good-key");
  EXPECT_EQ(SSL_CTX_check_private_key(ctx->context().native_handle()), 1);
  EXPECT_EQ(g_log.secret_mode, -1);  // no --tls-engine-kpass-sha1: no controls sent
}

TEST_F(TlsEngineTest, KeyIdTheEngineCannotLoad) {
  const std::string e = create_error(engine_key("missing-key"));
  EXPECT_EQ(e.rfind("Unable to load key 'missing-key' through TLS engine 'petrel-test-engine': ", 0), 0u) << e;
  EXPECT_EQ(g_log.key_id, "missing-key");
}

TEST_F(TlsEngineTest, EngineKeyThatDoesNotMatchTheCertificate) {
  EXPECT_EQ(create_error(engine_key("other-key")),
            "Client certificate '" + pki().cert + "' and engine key 'other-key' do not match");
}

TEST_F(TlsEngineTest, KeyFromEngineWithoutEngine) {
  TlsOptions o = engine_key("good-key");
  o.engine.clear();
  const std::string e = create_error(o);
  EXPECT_NE(e.find("--tls-engine"), std::string::npos) << e;
}

TEST_F(TlsEngineTest, Sha1KeyPasswordGoesToTheEngineControls) {
  TlsOptions o = engine_key("good-key");
  const std::string digest("\x01\x23\x45\x67\x89\xab\xcd\xef\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb", 20);
  o.engine_kpass_sha1 = digest;
  EXPECT_EQ(create_error(o), "(no error)");
  EXPECT_EQ(g_log.secret_mode, 0x1000);  // SHA1 mode
  EXPECT_EQ(g_log.pin, digest);
}

TEST_F(TlsEngineTest, Sha1KeyPasswordWithAnEngineWithoutThoseControls) {
  TlsOptions o = engine_key("good-key");
  o.engine = kNoCtrlEngineId;
  o.engine_kpass_sha1 = std::string(20, '\x5a');
  const std::string e = create_error(o);
  EXPECT_EQ(e.rfind("TLS engine 'petrel-test-engine-noctrl' cannot take a SHA1 key password (SECRET_MODE)", 0),
            0u)
      << e;
  EXPECT_EQ(g_log.key_id, "");  // stopped before asking for the key
}

TEST_F(TlsEngineTest, EnginePromptIsAnsweredFromKeyPasswordNeverATerminal) {
  TlsOptions o = engine_key("pin-key");
  o.key_password = kPin;
  EXPECT_EQ(create_error(o), "(no error)");
  EXPECT_TRUE(g_log.prompted);

  g_log = EngineLog{};
  o.key_password = "wrong";
  EXPECT_NE(create_error(o), "(no error)");

  g_log = EngineLog{};
  o.key_password.clear();  // no password: the prompt fails at once
  const std::string e = create_error(o);
  EXPECT_EQ(e.rfind("Unable to load key 'pin-key' through TLS engine", 0), 0u) << e;
  EXPECT_TRUE(g_log.prompted);
}

}  // namespace
}  // namespace petrel::client
