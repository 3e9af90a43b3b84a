// The race behind "Error: Broken pipe" instead of "certificate expired": with TLS 1.3 the
// client's handshake is over before the server has looked at the client's certificate, so
// the server's alert, and the reset of a socket closed with unread data, can come before
// the client's CONNECT is written. Here the order is forced rather than hoped for: a real
// TLS 1.3 server (OpenSSL through Asio, its own thread) refuses an expired client
// certificate and closes with a reset; the client's real TLS stream is wrapped so that its
// CONNECT is written only after that reset (the write then fails in the kernel) and its
// read is handed to the stream only after the write has failed. The client must report the
// alert the server sent, not the write error.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "client/client.h"
#include "fake_server.h"

namespace petrel::client::test {
namespace {

namespace fs = std::filesystem;
using tcp = asio::ip::tcp;

// A CA, a server certificate and an expired client certificate, in a temporary directory.
struct ExpiredPki {
  fs::path dir;
  std::string ca, server_cert, server_key, client_cert, client_key;

  static EVP_PKEY* key() { return EVP_EC_gen("P-256"); }
  static X509* cert(EVP_PKEY* k, const char* cn, X509* issuer, EVP_PKEY* issuer_key, long from, long to, int serial) {
    X509* x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_gmtime_adj(X509_getm_notBefore(x), from);
    X509_gmtime_adj(X509_getm_notAfter(x), to);
    X509_set_pubkey(x, k);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : X509_get_subject_name(x));
    if (!issuer) {  // the CA
      X509V3_CTX ctx;
      X509V3_set_ctx_nodb(&ctx);
      X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
      if (X509_EXTENSION* e = X509V3_EXT_conf_nid(nullptr, &ctx, NID_basic_constraints, "critical,CA:TRUE")) {
        X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
      }
    }
    X509_sign(x, issuer_key ? issuer_key : k, EVP_sha256());
    return x;
  }
  static void write(const std::string& path, X509* x, EVP_PKEY* k) {
    FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    if (x) PEM_write_X509(f, x);
    if (k) PEM_write_PrivateKey(f, k, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(f);
  }

  ExpiredPki() {
    dir = fs::temp_directory_path() / ("petrel-alert-test-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    EVP_PKEY *cak = key(), *sk = key(), *ck = key();
    X509* cac = cert(cak, "test-ca", nullptr, nullptr, -3600, 86400, 1);
    X509* sc = cert(sk, "localhost", cac, cak, -3600, 86400, 2);
    X509* cc = cert(ck, "sensor-expired", cac, cak, -7200, -3600, 3);  // expired an hour ago
    ca = (dir / "ca.crt").string();
    server_cert = (dir / "server.crt").string();
    server_key = (dir / "server.key").string();
    client_cert = (dir / "client.crt").string();
    client_key = (dir / "client.key").string();
    write(ca, cac, nullptr);
    write(server_cert, sc, nullptr);
    write(server_key, nullptr, sk);
    write(client_cert, cc, nullptr);
    write(client_key, nullptr, ck);
    X509_free(cac), X509_free(sc), X509_free(cc);
    EVP_PKEY_free(cak), EVP_PKEY_free(sk), EVP_PKEY_free(ck);
  }
  ~ExpiredPki() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

// Holds the client's first write until `released` is set, and hands reads to the real
// stream only after that write has completed: the worst order the race can take.
class OrderedStream final : public Stream {
 public:
  OrderedStream(StreamPtr inner, std::atomic<bool>& released, boost::system::error_code& first_write_error)
      : inner_(std::move(inner)), released_(released), first_write_error_(first_write_error),
        timer_(inner_->get_executor()) {}
  asio::any_io_executor get_executor() override { return inner_->get_executor(); }
  void async_read_some(asio::mutable_buffer buf, IoHandler h) override {
    if (write_done_) return inner_->async_read_some(buf, std::move(h));
    held_read_buf_ = buf;
    held_read_ = std::move(h);
  }
  void async_write(asio::const_buffer buf, IoHandler h) override {
    if (write_done_) return inner_->async_write(buf, std::move(h));
    wait_then_write(buf, std::move(h));
  }
  void close() override { inner_->close(); }

 private:
  void wait_then_write(asio::const_buffer buf, IoHandler h) {
    if (!released_) {
      timer_.expires_after(std::chrono::milliseconds(5));
      timer_.async_wait([this, buf, h = std::move(h)](const boost::system::error_code&) mutable {
        wait_then_write(buf, std::move(h));
      });
      return;
    }
    inner_->async_write(buf, [this, h = std::move(h)](const boost::system::error_code& ec, size_t n) {
      write_done_ = true;
      first_write_error_ = ec;
      h(ec, n);  // the client sees the failed write first ...
      if (held_read_) inner_->async_read_some(held_read_buf_, std::move(held_read_));  // ... then reads
    });
  }

  StreamPtr inner_;
  std::atomic<bool>& released_;
  boost::system::error_code& first_write_error_;
  asio::steady_timer timer_;
  bool write_done_ = false;
  asio::mutable_buffer held_read_buf_;
  IoHandler held_read_;
};

TEST(TlsAlertRace, ExpiredCertificateIsReportedEvenWhenTheConnectWriteFailsFirst) {
  ExpiredPki pki;
  // The server: TLS 1.3 only, client certificate required, one connection.
  asio::io_context server_io;
  asio::ssl::context sctx(asio::ssl::context::tls_server);
  SSL_CTX_set_min_proto_version(sctx.native_handle(), TLS1_3_VERSION);
  sctx.use_certificate_chain_file(pki.server_cert);
  sctx.use_private_key_file(pki.server_key, asio::ssl::context::pem);
  sctx.load_verify_file(pki.ca);
  sctx.set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
  tcp::acceptor acceptor(server_io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const uint16_t port = acceptor.local_endpoint().port();
  std::atomic<bool> reset_sent{false};
  std::string server_error;
  std::thread server([&] {
    asio::ssl::stream<tcp::socket> s(server_io, sctx);
    acceptor.accept(s.lowest_layer());
    boost::system::error_code ec;
    s.handshake(asio::ssl::stream_base::server, ec);  // fails: the alert goes out
    server_error = ec.message();
    // Close with a reset (as a server does that closes with the client's records unread).
    s.lowest_layer().set_option(asio::socket_base::linger(true, 0), ec);
    s.lowest_layer().close(ec);
    reset_sent = true;
  });

  asio::io_context io;
  TransportOptions t;
  t.host = "127.0.0.1";
  t.port = port;
  TlsOptions tls;
  tls.cafile = pki.ca;
  tls.certfile = pki.client_cert;
  tls.keyfile = pki.client_key;
  tls.insecure = true;  // the server certificate's name is not what is tested
  tls.version = "tlsv1.3";
  t.tls = tls;
  bool wrapped = false;
  boost::system::error_code first_write_error;
  StreamFactory real = make_stream_factory(io.get_executor(), t);
  StreamFactory factory = [&](OpenHandler h) {
    real([&, h = std::move(h)](StreamPtr s, const TransportError* e) {
      if (!s) return h(nullptr, e);
      wrapped = true;
      h(std::make_unique<OrderedStream>(std::move(s), reset_sent, first_write_error), nullptr);
    });
  };
  std::vector<ClientError> failures;
  ClientOptions opts;
  opts.client_id = "sensor-expired";
  Handlers handlers;
  handlers.on_connect_failed = [&](const ClientError& e) { failures.push_back(e); };
  auto c = Client::create(io.get_executor(), factory, opts, handlers);
  c->connect();
  ASSERT_TRUE(run_until(io, [&] { return !failures.empty(); }, std::chrono::milliseconds(10000)));
  server.join();
  ASSERT_TRUE(wrapped) << failures[0].message;
  // The race really happened: the kernel refused the CONNECT ...
  EXPECT_TRUE(first_write_error == asio::error::broken_pipe || first_write_error == asio::error::connection_reset)
      << first_write_error.message();
  // ... and the user is told what the server said.
  EXPECT_NE(failures[0].message.find("certificate expired"), std::string::npos)
      << failures[0].message << " (server: " << server_error << ")";
}

}  // namespace
}  // namespace petrel::client::test
