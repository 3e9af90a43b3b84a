#include "net/tls_context.h"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "auth/psk_file.h"
#include "net/psk_callbacks.h"

namespace petrel::net {

namespace {

Error file_error(std::string_view option, const std::string& path, std::string_view reason) {
  return make_error(0, fmt::format("{} '{}': {}", option, path, reason));
}

// The file's bytes; an error names the option, the file and the system's reason.
Result<std::string> read_file(std::string_view option, const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return file_error(option, path, "is a directory, not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return file_error(option, path, fmt::format("cannot read: {}", std::strerror(errno)));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return file_error(option, path, "read error");
  return ss.str();
}

// The password callback of a context: never prompts (the broker runs unattended), only
// records that OpenSSL asked, which means the key is encrypted.
int refuse_password(char*, int, int, void* userdata) {
  if (userdata != nullptr) *static_cast<bool*>(userdata) = true;
  return 0;
}

bool looks_encrypted(std::string_view pem) {
  return pem.find("-----BEGIN ENCRYPTED PRIVATE KEY-----") != std::string_view::npos ||
         pem.find("Proc-Type: 4,ENCRYPTED") != std::string_view::npos;
}

Result<void> load_certificate(SSL_CTX* ctx, const std::string& path) {
  auto text = read_file("certfile", path);
  if (!text) return text.error();
  ERR_clear_error();
  if (SSL_CTX_use_certificate_chain_file(ctx, path.c_str()) != 1) {
    if (text->find("-----BEGIN") == std::string::npos) return file_error("certfile", path, "is not a PEM certificate");
    return file_error("certfile", path, "cannot load the certificate: " + take_openssl_error("unknown error"));
  }
  return {};
}

// Decoded from memory with a callback that refuses to give a password, so an encrypted
// key fails cleanly (and is recognised as such) instead of prompting on the terminal.
Result<void> load_private_key(SSL_CTX* ctx, const config::Listener& l) {
  const std::string& path = l.keyfile;
  auto text = read_file("keyfile", path);
  if (!text) return text.error();
  const bool marked_encrypted = looks_encrypted(*text);
  const bool pem = text->find("-----BEGIN") != std::string::npos;
  bool asked = false;
  ERR_clear_error();
  BIO* bio = BIO_new_mem_buf(text->data(), static_cast<int>(text->size()));
  EVP_PKEY* key = bio ? PEM_read_bio_PrivateKey(bio, nullptr, refuse_password, &asked) : nullptr;
  BIO_free(bio);
  OPENSSL_cleanse(text->data(), text->size());
  if (key == nullptr) {
    std::string reason = take_openssl_error("unknown error");
    if (asked || marked_encrypted) {
      return file_error("keyfile", path,
                        "is password-protected; Petrel cannot load an encrypted private key (the broker "
                        "runs unattended): store it without a passphrase, e.g. `openssl pkey -in KEY -out PLAIN-KEY`");
    }
    if (!pem) return file_error("keyfile", path, "is not a PEM private key");
    return file_error("keyfile", path, "cannot load the private key: " + reason);
  }
  const int ok = SSL_CTX_use_PrivateKey(ctx, key);
  EVP_PKEY_free(key);
  if (ok != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    return make_error(0, fmt::format("keyfile '{}' does not match the certificate in certfile '{}' ({})", path,
                                     l.certfile, take_openssl_error("mismatch")));
  }
  return {};
}

Result<void> load_client_ca(SSL_CTX* ctx, const config::Listener& l) {
  if (!l.cafile.empty()) {
    auto text = read_file("cafile", l.cafile);
    if (!text) return text.error();
  }
  if (!l.capath.empty()) {
    std::error_code ec;
    if (!std::filesystem::is_directory(l.capath, ec)) return file_error("capath", l.capath, "is not a directory");
  }
  ERR_clear_error();
  if (SSL_CTX_load_verify_locations(ctx, l.cafile.empty() ? nullptr : l.cafile.c_str(),
                                    l.capath.empty() ? nullptr : l.capath.c_str()) != 1) {
    const std::string reason = take_openssl_error("no CA certificate found");
    if (!l.cafile.empty()) return file_error("cafile", l.cafile, "cannot load CA certificates: " + reason);
    return file_error("capath", l.capath, "cannot load CA certificates: " + reason);
  }
  if (!l.cafile.empty()) {
    // Names of the acceptable CAs in the certificate request (helps clients with several).
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(l.cafile.c_str())) SSL_CTX_set_client_CA_list(ctx, names);
    ERR_clear_error();
  }
  return {};
}

// disable_client_cert_date_checks: a certificate of the client's chain that is expired or
// not yet valid passes; every other check (signatures, CA, revocation) still applies.
int ignore_certificate_dates(int ok, X509_STORE_CTX* store) {
  if (ok) return 1;
  const int e = X509_STORE_CTX_get_error(store);
  if (e == X509_V_ERR_CERT_HAS_EXPIRED || e == X509_V_ERR_CERT_NOT_YET_VALID) {
    X509_STORE_CTX_set_error(store, X509_V_OK);
    return 1;
  }
  return 0;
}

Result<void> load_crl(SSL_CTX* ctx, const std::string& path) {
  auto text = read_file("crlfile", path);
  if (!text) return text.error();
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  X509_LOOKUP* lookup = X509_STORE_add_lookup(store, X509_LOOKUP_file());
  ERR_clear_error();
  if (lookup == nullptr || X509_load_crl_file(lookup, path.c_str(), X509_FILETYPE_PEM) <= 0) {
    return file_error("crlfile", path, "cannot load a PEM certificate revocation list: " + take_openssl_error("none found"));
  }
  X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
  return {};
}

Result<void> load_dhparams(SSL_CTX* ctx, const std::string& path) {
  auto text = read_file("dhparamfile", path);
  if (!text) return text.error();
  ERR_clear_error();
  BIO* bio = BIO_new_mem_buf(text->data(), static_cast<int>(text->size()));
  EVP_PKEY* dh = bio ? PEM_read_bio_Parameters(bio, nullptr) : nullptr;
  BIO_free(bio);
  if (dh == nullptr) return file_error("dhparamfile", path, "is not PEM DH parameters: " + take_openssl_error("none found"));
  if (SSL_CTX_set0_tmp_dh_pkey(ctx, dh) != 1) {
    EVP_PKEY_free(dh);
    return file_error("dhparamfile", path, "unusable DH parameters: " + take_openssl_error("rejected"));
  }
  return {};
}

Result<void> set_protocol(SSL_CTX* ctx, const config::Listener& l, bool psk_only) {
  // tls_version is the lowest version accepted, as in Mosquitto ("tlsv1.1" is taken as
  // tlsv1.2: OpenSSL 3 refuses TLS 1.1 at its default security level anyway).
  const int min = l.tls_version == "tlsv1.3" ? TLS1_3_VERSION : TLS1_2_VERSION;
  SSL_CTX_set_min_proto_version(ctx, min);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_TICKET);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
  // No resumption: nothing to keep per context (reload-safe, less memory).
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(ctx, 0);
  static constexpr unsigned char kSidContext[] = "petrel";
  SSL_CTX_set_session_id_context(ctx, kSidContext, sizeof(kSidContext) - 1);
  ERR_clear_error();
  if (!l.ciphers.empty()) {
    if (SSL_CTX_set_cipher_list(ctx, l.ciphers.c_str()) != 1) {
      return make_error(0, fmt::format("ciphers '{}': no usable cipher: {}", l.ciphers, take_openssl_error("no match")));
    }
  } else if (psk_only && SSL_CTX_set_cipher_list(ctx, "PSK") != 1) {
    return make_error(0, "no TLS 1.2 PSK cipher available: " + take_openssl_error("no match"));
  }
  if (!l.ciphers_tls13.empty() && SSL_CTX_set_ciphersuites(ctx, l.ciphers_tls13.c_str()) != 1) {
    return make_error(0, fmt::format("ciphers_tls1.3 '{}': no usable TLS 1.3 cipher suite: {}", l.ciphers_tls13,
                                     take_openssl_error("no match")));
  }
  return {};
}

Result<std::shared_ptr<const auth::PskFile>> load_psk_file(const config::Listener& l) {
  const std::string& path = l.security.psk_file;
  if (path.empty()) {
    return make_error(0, fmt::format("psk_hint '{}' is set but no psk_file gives the identities and keys", l.psk_hint));
  }
  auto keys = auth::PskFile::load(path);
  if (!keys) return make_error(0, "psk_file: " + keys.error().message);
  return std::make_shared<const auth::PskFile>(std::move(*keys));
}

}  // namespace

std::string take_openssl_error(std::string_view fallback) {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    const char* reason = ERR_reason_error_string(e);
    std::string text = reason ? reason : fmt::format("error {:#x}", e);
    if (out.find(text) != std::string::npos) continue;
    if (!out.empty()) out += "; ";
    out += text;
  }
  return out.empty() ? std::string(fallback) : out;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

std::string TlsContext::describe() const {
  std::string s = has_cert_ && psk_ ? "certificate+PSK" : has_cert_ ? "certificate" : "PSK";
  if (client_certs_) s += ", client certificates required";
  return s;
}

Result<std::shared_ptr<const TlsContext>> TlsContext::create(const config::Listener& l) {
  std::shared_ptr<TlsContext> c(new TlsContext());
  c->ctx_ = SSL_CTX_new(TLS_server_method());
  if (c->ctx_ == nullptr) return make_error(0, "cannot create a TLS context: " + take_openssl_error("out of memory"));
  SSL_CTX* ctx = c->ctx_;
  SSL_CTX_set_default_passwd_cb(ctx, refuse_password);  // never a prompt on the terminal
  c->has_cert_ = !l.certfile.empty();
  if (c->has_cert_ != !l.keyfile.empty()) {
    return make_error(0, c->has_cert_ ? "certfile is set without keyfile" : "keyfile is set without certfile");
  }
  const bool psk = !l.psk_hint.empty();
  if (!c->has_cert_ && !psk) return make_error(0, "TLS needs certfile and keyfile, or psk_hint");
  if (auto r = set_protocol(ctx, l, psk && !c->has_cert_); !r) return r.error();
  if (!l.dhparamfile.empty()) {
    if (auto r = load_dhparams(ctx, l.dhparamfile); !r) return r.error();
  }
  if (c->has_cert_) {
    if (auto r = load_certificate(ctx, l.certfile); !r) return r.error();
    if (auto r = load_private_key(ctx, l); !r) return r.error();
  }
  if (!l.cafile.empty() || !l.capath.empty()) {
    if (auto r = load_client_ca(ctx, l); !r) return r.error();
  } else if (l.require_certificate) {
    return make_error(0, "require_certificate is true but neither cafile nor capath is set");
  }
  if (!l.crlfile.empty()) {
    if (auto r = load_crl(ctx, l.crlfile); !r) return r.error();
  }
  c->client_certs_ = l.require_certificate;
  // Mosquitto asks for client certificates only when they are required.
  SSL_CTX_set_verify(ctx, l.require_certificate ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT : SSL_VERIFY_NONE,
                     l.disable_client_cert_date_checks ? ignore_certificate_dates : nullptr);
  if (psk) {
    auto keys = load_psk_file(l);
    if (!keys) return keys.error();
    c->psk_ = std::move(*keys);
    if (auto r = install_psk_callbacks(ctx, c->psk_.get(), l.psk_hint); !r) return r.error();
  }
  ERR_clear_error();
  return std::shared_ptr<const TlsContext>(std::move(c));
}

}  // namespace petrel::net
