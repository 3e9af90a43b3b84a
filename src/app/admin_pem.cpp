#include "app/admin_pem.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <fstream>
#include <memory>
#include <sstream>

namespace petrel::app {

namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;

BioPtr memory_bio(std::string_view text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

std::string name_text(const X509_NAME* n) {
  BioPtr out(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(out.get(), n, 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  long len = BIO_get_mem_data(out.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

std::string common_name(const X509_NAME* n) {
  const int i = X509_NAME_get_index_by_NID(n, NID_commonName, -1);
  if (i < 0) return {};
  const ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i));
  unsigned char* utf8 = nullptr;
  const int len = ASN1_STRING_to_UTF8(&utf8, s);
  if (len < 0) return {};
  std::string out(reinterpret_cast<char*>(utf8), static_cast<size_t>(len));
  OPENSSL_free(utf8);
  return out;
}

int64_t unix_of(const ASN1_TIME* t) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<int64_t>(timegm(&tm));
}

// The keys OpenSSL refuses without a password say so in their PEM header or their error.
bool needs_password(std::string_view pem) {
  return pem.find("ENCRYPTED") != std::string_view::npos;
}

int no_password(char*, int, int, void*) { return -1; }

}  // namespace

Result<std::vector<CertInfo>> parse_certificates(std::string_view pem) {
  if (pem.find("-----BEGIN CERTIFICATE-----") == std::string_view::npos)
    return Error{0, "no certificate found (expected PEM text starting with -----BEGIN CERTIFICATE-----)"};
  BioPtr bio = memory_bio(pem);
  std::vector<CertInfo> out;
  const time_t now = std::time(nullptr);
  for (;;) {
    ERR_clear_error();
    X509Ptr x(PEM_read_bio_X509(bio.get(), nullptr, no_password, nullptr));
    if (!x) {
      const unsigned long e = ERR_peek_last_error();
      if (!out.empty() && ERR_GET_REASON(e) == PEM_R_NO_START_LINE) break;  // the end
      char buf[256];
      ERR_error_string_n(e, buf, sizeof buf);
      return Error{0, out.empty() ? std::string("the certificate cannot be read: ") + buf
                                  : "certificate #" + std::to_string(out.size() + 1) + " cannot be read: " + buf};
    }
    CertInfo c;
    c.subject = name_text(X509_get_subject_name(x.get()));
    c.issuer = name_text(X509_get_issuer_name(x.get()));
    c.common_name = common_name(X509_get_subject_name(x.get()));
    c.not_before = unix_of(X509_get0_notBefore(x.get()));
    c.not_after = unix_of(X509_get0_notAfter(x.get()));
    c.expired = c.not_after && c.not_after < now;
    c.not_yet_valid = c.not_before && c.not_before > now;
    c.is_ca = X509_check_ca(x.get()) > 0;
    out.push_back(std::move(c));
  }
  ERR_clear_error();
  return out;
}

Result<void> check_key_pair(std::string_view key_pem, std::string_view cert_pem) {
  if (key_pem.find("-----BEGIN") == std::string_view::npos || key_pem.find("PRIVATE KEY") == std::string_view::npos)
    return Error{0, "no private key found (expected PEM text starting with -----BEGIN ... PRIVATE KEY-----)"};
  if (needs_password(key_pem))
    return Error{0, "the private key is password-protected, and a broker cannot ask for a password at start; "
                    "remove it (openssl pkey -in key.pem -out key-plain.pem) and paste that"};
  ERR_clear_error();
  BioPtr kb = memory_bio(key_pem);
  KeyPtr key(PEM_read_bio_PrivateKey(kb.get(), nullptr, no_password, nullptr));
  if (!key) {
    char buf[256];
    ERR_error_string_n(ERR_peek_last_error(), buf, sizeof buf);
    ERR_clear_error();
    return Error{0, std::string("the private key cannot be read: ") + buf};
  }
  BioPtr cb = memory_bio(cert_pem);
  X509Ptr cert(PEM_read_bio_X509(cb.get(), nullptr, no_password, nullptr));
  ERR_clear_error();
  if (!cert) return Error{0, "the certificate cannot be read"};
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    return Error{0, "the private key does not belong to the certificate (they do not match)"};
  }
  return {};
}

Result<std::vector<CertInfo>> certificate_file_info(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Error{0, path + ": cannot be read"};
  std::ostringstream ss;
  ss << f.rdbuf();
  auto r = parse_certificates(ss.str());
  if (!r) return Error{0, path + ": " + r.error().message};
  return r;
}

boost::json::object cert_json(const CertInfo& c) {
  return {{"subject", c.subject},      {"issuer", c.issuer},   {"common_name", c.common_name},
          {"not_before", c.not_before}, {"not_after", c.not_after}, {"expired", c.expired},
          {"not_yet_valid", c.not_yet_valid}, {"is_ca", c.is_ca}};
}

}  // namespace petrel::app
