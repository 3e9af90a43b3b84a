#pragma once
// Test PKI made with the openssl command line at test time (never checked in): a CA, a
// server certificate (SAN 127.0.0.1, ::1, localhost), a client certificate, a key that
// matches nothing, a password-protected key and a file that is not PEM. One set per test
// binary run, in a temporary directory removed at exit.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

namespace petrel::net::test {

// Runs a shell command (stderr folded in); returns its exit status and output.
inline int run(const std::string& cmd, std::string* output = nullptr) {
  std::string full = cmd + " 2>&1";
  FILE* p = ::popen(full.c_str(), "r");
  if (p == nullptr) return -1;
  std::string out;
  char buf[512];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = ::pclose(p);
  if (output) *output = out;
  return status;
}

class TestPki {
 public:
  static const TestPki& get() {
    static TestPki pki;
    return pki;
  }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  const std::string& error() const { return error_; }
  bool ok() const { return error_.empty(); }

  ~TestPki() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

 private:
  TestPki() {
    auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
    dir_ = std::filesystem::temp_directory_path() /
           ("petrel-net-test-" + std::to_string(::getpid()) + "-" + std::to_string(stamp));
    std::filesystem::create_directories(dir_);
    const std::string d = dir_.string();
    const std::string steps[] = {
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout " + d + "/ca.key -out " + d +
            "/ca.crt -days 30 -subj '/CN=Petrel Test CA'",
        "openssl req -newkey rsa:2048 -nodes -keyout " + d + "/server.key -out " + d +
            "/server.csr -subj '/CN=localhost'",
        "printf 'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\\n' > " + d + "/san.ext",
        "openssl x509 -req -in " + d + "/server.csr -CA " + d + "/ca.crt -CAkey " + d + "/ca.key -CAcreateserial -out " +
            d + "/server.crt -days 30 -extfile " + d + "/san.ext",
        "openssl req -newkey rsa:2048 -nodes -keyout " + d + "/client.key -out " + d +
            "/client.csr -subj '/C=DE/O=Petrel Test/CN=sensor-7'",
        "openssl x509 -req -in " + d + "/client.csr -CA " + d + "/ca.crt -CAkey " + d + "/ca.key -CAcreateserial -out " +
            d + "/client.crt -days 30",
        "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out " + d + "/other.key",
        "openssl pkey -in " + d + "/server.key -aes256 -passout pass:secret -out " + d + "/encrypted.key",
        "openssl genpkey -genparam -algorithm DH -pkeyopt group:ffdhe2048 -out " + d + "/dh.pem",
    };
    for (const auto& s : steps) {
      std::string out;
      if (run(s, &out) != 0) {
        error_ = "PKI step failed: " + s + "\n" + out;
        return;
      }
    }
    std::ofstream(dir_ / "garbage.key") << "this is not a key\n";
    std::ofstream(dir_ / "psk.txt") << "sensor:00112233445566778899aabbccddeeff\nhouse:"
                                    << std::string(64, 'a') << "\n";
  }

  std::filesystem::path dir_;
  std::string error_;
};

}  // namespace petrel::net::test
