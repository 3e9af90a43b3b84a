// PSK files: identity:hexkey lines, Mosquitto's key bytes, every error as file:line.
#include <gtest/gtest.h>

#include "auth/psk_file.h"
#include "temp_dir.h"

namespace petrel::auth {
namespace {

using Bytes = std::vector<uint8_t>;

TEST(PskFile, LooksUpKeys) {
  auto f = PskFile::parse(
      "# identities\n"
      "test:0123456789abcdefABCDEF0123456789abcdef0123456789ABCDEF0123456789\n"
      "\n"
      " sensor-1 : a1B2 \r\n",
      "psk");
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->size(), 2u);
  const Bytes* k = f->key("test");
  ASSERT_NE(k, nullptr);
  ASSERT_EQ(k->size(), 32u);
  EXPECT_EQ((*k)[0], 0x01);
  EXPECT_EQ((*k)[31], 0x89);
  ASSERT_NE(f->key("sensor-1"), nullptr);
  EXPECT_EQ(*f->key("sensor-1"), (Bytes{0xa1, 0xb2}));
  EXPECT_EQ(f->key("Test"), nullptr);
  EXPECT_EQ(f->key(""), nullptr);
  EXPECT_FALSE(f->contains("nobody"));
}

TEST(PskFile, LeadingZeroBytesAreKept) {
  // Mosquitto 2.0.11 keeps them too: with key 0011..ff, mosquitto_pub --psk 0011..ff and
  // openssl s_client -psk 0011..ff connect to it, --psk 11..ff does not.
  auto e = PskFile::parse("dev:0000a1b2\n", "psk");
  ASSERT_TRUE(e);
  EXPECT_EQ(*e->key("dev"), (Bytes{0x00, 0x00, 0xa1, 0xb2}));
}

TEST(PskFile, OddLengthKeyHasALeadingZero) {
  // Debian's /usr/share/doc/mosquitto/examples/pskfile.example: "easy:12345"; Mosquitto
  // 2.0.11 reads the key as 01 23 45 (mosquitto_pub --psk 012345 connects, 123450 does not).
  auto f = PskFile::parse("easy:12345\nodd:abc\n", "psk");
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(*f->key("easy"), (Bytes{0x01, 0x23, 0x45}));
  EXPECT_EQ(*f->key("odd"), (Bytes{0x0a, 0xbc}));
}

TEST(PskFile, ReportsEveryError) {
  std::string text =
      "noseparator\n"          // 1
      ":abcd\n"                // 2 empty identity
      "a:\n"                   // 3 empty key
      "b:abcg\n"               // 4 not hex (the last digit)
      "c:zz\n"                 // 5 not hex
      "d:0000\n"               // 6 all zero
      "ok:abcd\n"              // 7 fine
      "ok:abcd\n";             // 8 duplicate
  text += std::string(257, 'i') + ":ab\n";          // 9 identity too long
  text += "big:" + std::string(1026, 'a') + "\n";   // 10 key too long (513 bytes)
  auto f = PskFile::parse(text, "/etc/psk");
  ASSERT_FALSE(f);
  const std::string& m = f.error().message;
  for (int line : {1, 2, 3, 4, 5, 6, 8, 9, 10}) {  // the odd-length key is fine: see OddLengthKey
    EXPECT_NE(m.find("/etc/psk:" + std::to_string(line) + ": "), std::string::npos)
        << "line " << line << " in\n" << m;
  }
  EXPECT_EQ(m.find("/etc/psk:7:"), std::string::npos) << m;
  EXPECT_NE(m.find("not hexadecimal"), std::string::npos) << m;
  EXPECT_NE(m.find("empty identity"), std::string::npos) << m;
  EXPECT_NE(m.find("already defined on line 7"), std::string::npos) << m;
}

TEST(PskFile, LongestAllowedKeyAndIdentity) {
  std::string text = std::string(256, 'i') + ":" + std::string(1024, 'f') + "\n";
  auto f = PskFile::parse(text, "psk");
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->key(std::string(256, 'i'))->size(), 512u);
}

TEST(PskFile, LoadFromDisk) {
  test::TempDir dir;
  auto f = PskFile::load(dir.write("psk", "test:00112233\n"));
  ASSERT_TRUE(f);
  EXPECT_EQ(f->key("test")->size(), 4u);  // leading zero byte kept
  EXPECT_FALSE(PskFile::load(dir.path("none")));
}

TEST(PskFile, DecodeHex) {
  Bytes out;
  EXPECT_TRUE(decode_hex("", out));
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(decode_hex("00Ff", out));
  EXPECT_EQ(out, (Bytes{0x00, 0xff}));
  EXPECT_FALSE(decode_hex("0", out));
  EXPECT_FALSE(decode_hex("0g", out));
  EXPECT_FALSE(decode_hex("0x00", out));
}

}  // namespace
}  // namespace petrel::auth
