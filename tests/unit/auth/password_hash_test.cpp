// Password hashes: known answers from real peers, parse errors, encoding round trips.
//
// Vectors: the $6$ and $7$ lines were written by Debian 12's mosquitto_passwd 2.0.11
// (`mosquitto_passwd -b [-H sha512] [-I N] file user password`); the 64-byte-salt $7$
// line is Mosquitto 2.1.2's output quoted in eclipse-mosquitto issue 3523; the argon2id
// strings come from Debian's argon2 command (`echo -n password | argon2 somesalt -id -t 2
// -m 10 -p 1 -l 32 -e`, and -v 10 for version 16).
#include <gtest/gtest.h>

#include "auth/base64.h"
#include "auth/password_hash.h"

namespace petrel::auth {
namespace {

struct Vector {
  const char* hash;
  const char* password;
};

const Vector kMosquitto20[] = {
    {"$7$101$aJP8igrEAOY4uwWX$+e04F21CeodO/gCsNMQ66jVVzcWD8BzJAEewINHWU8sdamxZXLxbpttdNjsGwOUuBg0kh1a4wfOSEisZgEjU6g==",
     "secret"},
    {"$7$101$htMCrWu92lFNm/iS$/BWiMDfV+S3V9saWUg1TwvyBFRWxTEm0SN4vwv0vdrjn+kd4PNbIQU986tEXzZp5RhREo5ElrSEvZ60vZDi36w==",
     "p@ss w:rd"},
    {"$7$1000$LAYBtmaMPksW5VRE$ih5PtdJx4HSUkjtuk2+r9DpfPRLmluRyyCRqddTYBUoo2v95sP9wBpa9pQhDMDBpZXngXyrR/c4xMRpGCHK1yQ==",
     "\xc3\x9c" "n" "\xc3\xaf" "c" "\xc3\xb8" "d" "\xc3\xa9" "\xe2\x9c\x93"},  // Ünïcødé✓
    {"$7$1$6d8/ncsAu9IVJp3K$vTnV3qMJHVw1BCoXT8Nq6pJC1UnUlZMOMbcezn3+5Ncy/iPE8CQM+B0488S33IlaHzL08eT8jiD2jnXGdzOMmA==",
     "x"},
    {"$6$2FqyEmVzgthXMBLr$r8Brx8OPxtiTg7QtUZsY88RJ30ydGPRkHtKDykHFI0xDY3SK7o0IGF4TgFTQavkS5j1kwoUmCeFAFTbi6KCbbA==",
     "hunter2"},
    {"$6$zQV32TxAzzCR21oZ$4kEHJKQc3Ki8J437oR58LValSW8rweRWbd05ozbXu0c9nxVWlXj8fRHNE+4HhBBB0eabNIpiQ037u1eZoMDKFg==",
     ""},
};

const Vector kMosquitto21 = {
    "$7$1000$uKtJR1y2kI+tdzwxyMdaN1R3XfHauE742GUjuVZZGSifRdHMz2HBUWNb4bcaFJt8vFV47nH6dXIW1B8M7gVY1A==$"
    "n/lxUluMJMoxxnBdUW7vn7Dx93iO0tsAOlzcmvPuDLfqohObyzDg2P2yiIBtYYrPNR30bm7yCfBcLXjhxQc3dA==",
    "password"};

const Vector kArgon2[] = {
    {"$argon2id$v=19$m=1024,t=2,p=1$c29tZXNhbHQ$7FfsnA6vUe7qLpL/3Kqc3uR48ZJyFbUVt7jWZlf0Htk", "password"},
    {"$argon2id$v=16$m=1024,t=2,p=1$c29tZXNhbHQ$DJkDlhYQjMAOfRGtyek9T6PwKEE/HIKrG4LbYkikiYw", "password"},
    // The pre-1.3 PHC form has no v= and means version 16: same hash as above.
    {"$argon2id$m=1024,t=2,p=1$c29tZXNhbHQ$DJkDlhYQjMAOfRGtyek9T6PwKEE/HIKrG4LbYkikiYw", "password"},
    {"$argon2id$v=19$m=4096,t=3,p=2$c2FsdHNhbHRzYWx0c2FsdA$nHtuf6TEP55JZbM+HsO9UqvYtEqpGvgd",
     "\xc3\x9c" "n" "\xc3\xaf" "c" "\xc3\xb8" "d" "\xc3\xa9" "\xe2\x9c\x93" " pw"},
};

void expect_verifies(const Vector& v) {
  auto h = parse_password_hash(v.hash);
  ASSERT_TRUE(h) << v.hash << ": " << h.error().message;
  EXPECT_TRUE(verify_password(*h, v.password)) << v.hash;
  EXPECT_FALSE(verify_password(*h, std::string(v.password) + "x")) << v.hash;
  EXPECT_FALSE(verify_password(*h, "wrong")) << v.hash;
  EXPECT_EQ(encode_password_hash(*h), v.hash) << "round trip";
}

TEST(PasswordHash, Mosquitto20KnownAnswers) {
  for (const auto& v : kMosquitto20) expect_verifies(v);
}

TEST(PasswordHash, Mosquitto21SixtyFourByteSaltAndThousandIterations) {
  expect_verifies(kMosquitto21);
  auto h = parse_password_hash(kMosquitto21.hash);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->salt.size(), 64u);
  EXPECT_EQ(h->iterations, 1000u);
}

TEST(PasswordHash, Argon2idKnownAnswers) {
  for (const auto& v : kArgon2) {
    auto h = parse_password_hash(v.hash);
    ASSERT_TRUE(h) << v.hash << ": " << h.error().message;
    EXPECT_EQ(h->kind, HashKind::kArgon2id);
    EXPECT_TRUE(verify_password(*h, v.password)) << v.hash;
    EXPECT_FALSE(verify_password(*h, "Password")) << v.hash;
  }
  EXPECT_EQ(encode_password_hash(*parse_password_hash(kArgon2[0].hash)), kArgon2[0].hash);
  EXPECT_EQ(parse_password_hash(kArgon2[2].hash)->version, 0x10u);
}

TEST(PasswordHash, DecodedFields) {
  auto h = parse_password_hash(kMosquitto20[0].hash);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->kind, HashKind::kPbkdf2Sha512);
  EXPECT_EQ(h->iterations, 101u);
  EXPECT_EQ(h->salt.size(), 12u);
  EXPECT_EQ(h->hash.size(), 64u);
  auto a = parse_password_hash(kArgon2[3].hash);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->memory_kib, 4096u);
  EXPECT_EQ(a->iterations, 3u);
  EXPECT_EQ(a->lanes, 2u);
  EXPECT_EQ(a->hash.size(), 24u);
}

TEST(PasswordHash, ComparesEveryByte) {
  // A stored hash differing from the right one in its first or last byte must fail: the
  // comparison covers the whole hash (CRYPTO_memcmp, constant time).
  for (size_t at : {size_t{0}, size_t{63}}) {
    auto h = parse_password_hash(kMosquitto20[0].hash);
    ASSERT_TRUE(h);
    h->hash[at] ^= 0x01;
    EXPECT_FALSE(verify_password(*h, "secret")) << "byte " << at;
  }
}

TEST(PasswordHash, RefusesMalformed) {
  const char* bad[] = {
      "secret",                                  // plain text
      "$5$abc$def",                              // unknown type
      "$6$",                                     // no fields
      "$6$c2FsdA==",                             // no hash
      "$6$c2FsdA==$c2hvcnQ=",                    // hash not 64 bytes
      "$6$$AAAA",                                // empty salt
      "$6$c2Fs*A==$AAAA",                        // bad base64
      "$7$0$c2FsdA==$AAAA",                      // zero iterations
      "$7$-5$c2FsdA==$AAAA",                     // negative iterations
      "$7$abc$c2FsdA==$AAAA",                    // not a number
      "$7$99999999999$c2FsdA==$AAAA",            // too many iterations
      "$7$101$c2FsdA==",                         // missing hash
      "$7$101$c2FsdA==$AAAA$extra",              // extra field
      "$argon2i$v=19$m=1024,t=2,p=1$c29tZXNhbHQ$7FfsnA6vUe7qLpL/3Kqc3uR48ZJyFbUVt7jWZlf0Htk",
      "$argon2id$v=18$m=1024,t=2,p=1$c29tZXNhbHQ$7FfsnA6vUe7qLpL/3Kqc3uR48ZJyFbUVt7jWZlf0Htk",
      "$argon2id$v=19$t=2,m=1024,p=1$c29tZXNhbHQ$7FfsnA6vUe7qLpL/3Kqc3uR48ZJyFbUVt7jWZlf0Htk",
      "$argon2id$v=19$m=1024,t=0,p=1$c29tZXNhbHQ$7FfsnA6vUe7qLpL/3Kqc3uR48ZJyFbUVt7jWZlf0Htk",
      "$argon2id$v=19$m=4,t=2,p=1$c29tZXNhbHQ$7FfsnA6vUe7qLpL/3Kqc3uR48ZJyFbUVt7jWZlf0Htk",
      "$argon2id$v=19$m=4194304,t=2,p=1$c29tZXNhbHQ$7FfsnA6vUe7qLpL/3Kqc3uR48ZJyFbUVt7jWZlf0Htk",
      "$argon2id$v=19$m=1024,t=2,p=1$c2FsdA$7FfsnA6vUe7qLpL/3Kqc3uR48ZJyFbUVt7jWZlf0Htk",  // 4-byte salt
      "$argon2id$v=19$m=1024,t=2,p=1,keyid=x$c29tZXNhbHQ$7FfsnA6vUe7qLpL/3Kqc3uR48ZJyFbUVt7jWZlf0Htk",
  };
  for (const char* b : bad) EXPECT_FALSE(parse_password_hash(b)) << b;
  EXPECT_NE(parse_password_hash("$6$c2FsdA==$c2hvcnQ=").error().message.find("64"), std::string::npos);
}

TEST(PasswordHash, LooksHashed) {
  EXPECT_TRUE(looks_hashed("$6$x"));
  EXPECT_TRUE(looks_hashed("$7$x"));
  EXPECT_TRUE(looks_hashed("$argon2id$x"));
  EXPECT_FALSE(looks_hashed("secret"));
  EXPECT_FALSE(looks_hashed("$8$x"));
  EXPECT_FALSE(looks_hashed("$argon2i$x"));
}

TEST(PasswordHash, NewHashesRoundTripAndDefaultToMosquitto20) {
  HashParams p;  // $7$, 101 iterations, 12-byte salt: what Mosquitto 2.0 reads
  auto h = hash_password("pw", p);
  ASSERT_TRUE(h);
  std::string text = encode_password_hash(*h);
  EXPECT_TRUE(text.starts_with("$7$101$")) << text;
  EXPECT_EQ(h->salt.size(), 12u);
  auto back = parse_password_hash(text);
  ASSERT_TRUE(back);
  EXPECT_TRUE(verify_password(*back, "pw"));
  EXPECT_FALSE(verify_password(*back, "pW"));
  auto again = hash_password("pw", p);
  ASSERT_TRUE(again);
  EXPECT_NE(again->salt, h->salt) << "salts are random";

  for (HashKind k : {HashKind::kSha512, HashKind::kArgon2id}) {
    p.kind = k;
    auto x = hash_password("p\xc3\xa4ss", p);
    ASSERT_TRUE(x);
    auto y = parse_password_hash(encode_password_hash(*x));
    ASSERT_TRUE(y) << encode_password_hash(*x);
    EXPECT_TRUE(verify_password(*y, "p\xc3\xa4ss"));
    EXPECT_FALSE(verify_password(*y, "pass"));
  }
}

TEST(PasswordHash, WithSaltReproducesMosquitto) {
  // The same password and salt as a mosquitto_passwd line give the same hash.
  auto ref = parse_password_hash(kMosquitto20[4].hash);  // $6$, hunter2
  ASSERT_TRUE(ref);
  HashParams p;
  p.kind = HashKind::kSha512;
  auto mine = hash_password_with_salt("hunter2", p, ref->salt);
  ASSERT_TRUE(mine);
  EXPECT_EQ(encode_password_hash(*mine), kMosquitto20[4].hash);
  auto ref7 = parse_password_hash(kMosquitto20[2].hash);  // $7$1000
  ASSERT_TRUE(ref7);
  p.kind = HashKind::kPbkdf2Sha512;
  p.iterations = 1000;
  auto mine7 = hash_password_with_salt(kMosquitto20[2].password, p, ref7->salt);
  ASSERT_TRUE(mine7);
  EXPECT_EQ(encode_password_hash(*mine7), kMosquitto20[2].hash);
}

TEST(Base64, RoundTripAndStrictness) {
  for (size_t n = 0; n < 70; ++n) {
    std::vector<uint8_t> b(n);
    for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(i * 37 + n);
    for (bool pad : {true, false}) {
      auto back = base64_decode(base64_encode(b, pad));
      ASSERT_TRUE(back) << n;
      EXPECT_EQ(*back, b);
    }
  }
  EXPECT_EQ(base64_encode(std::vector<uint8_t>{'a'}), "YQ==");
  EXPECT_EQ(base64_encode(std::vector<uint8_t>{'a'}, false), "YQ");
  EXPECT_FALSE(base64_decode("YQ=a"));
  EXPECT_FALSE(base64_decode("Y"));
  EXPECT_FALSE(base64_decode("YQ==="));
  EXPECT_FALSE(base64_decode("YQ-_"));   // URL-safe alphabet
  EXPECT_FALSE(base64_decode("YQ ="));   // whitespace
  EXPECT_FALSE(base64_decode("a.bc"));   // passlib's '.'; Mosquitto refuses it too
  EXPECT_FALSE(base64_decode("YQ=")); // padding must complete a quantum
}

}  // namespace
}  // namespace petrel::auth
