// MQTT UTF-8 rules [MQTT-1.5.4-1..3]: well-formed, no surrogates, no U+0000.
#include <gtest/gtest.h>

#include <string>

#include "protocol/utf8.h"

namespace petrel::protocol {
namespace {

std::string S(const char* s, size_t n) { return std::string(s, n); }

TEST(Utf8, WellFormedIsAccepted) {
  for (const std::string& s : {
           std::string(""), std::string("abc"), std::string("a/b/c"),
           std::string("\x01\x1F\x7F"),          // control characters are allowed
           std::string("\xC3\xA9"),              // U+00E9
           std::string("\xC2\x80"),              // U+0080, smallest 2-byte
           std::string("\xDF\xBF"),              // U+07FF
           std::string("\xE0\xA0\x80"),          // U+0800, smallest 3-byte
           std::string("\xE2\x82\xAC"),          // U+20AC euro
           std::string("\xED\x9F\xBF"),          // U+D7FF, just below the surrogates
           std::string("\xEE\x80\x80"),          // U+E000, just above them
           std::string("\xEF\xBF\xBF"),          // U+FFFF, a non-character (allowed)
           std::string("\xF0\x90\x80\x80"),      // U+10000, smallest 4-byte
           std::string("\xF0\x9D\x84\x9E"),      // U+1D11E
           std::string("\xF4\x8F\xBF\xBF"),      // U+10FFFF, the largest
           std::string(1000, 'x') + "\xC3\xA9" + std::string(13, 'y'),
       }) {
    EXPECT_TRUE(valid_mqtt_utf8(s)) << s;
  }
}

TEST(Utf8, NullCharacterIsRejected_MQTT_1_5_4_2) {
  EXPECT_FALSE(valid_mqtt_utf8(S("\0", 1)));
  EXPECT_FALSE(valid_mqtt_utf8(S("a\0b", 3)));
  // Past the 8-byte fast path too, at every position of a word.
  for (size_t at = 0; at < 40; ++at) {
    std::string s(40, 'a');
    s[at] = '\0';
    EXPECT_FALSE(valid_mqtt_utf8(s)) << at;
  }
  EXPECT_FALSE(valid_mqtt_utf8("\xC0\x80"));  // overlong encoding of U+0000
}

TEST(Utf8, SurrogatesAreRejected_MQTT_1_5_4_1) {
  EXPECT_FALSE(valid_mqtt_utf8("\xED\xA0\x80"));  // U+D800
  EXPECT_FALSE(valid_mqtt_utf8("\xED\xBF\xBF"));  // U+DFFF
  EXPECT_FALSE(valid_mqtt_utf8("\xED\xB0\x80"));  // U+DC00
}

TEST(Utf8, OverlongEncodingsAreRejected) {
  EXPECT_FALSE(valid_mqtt_utf8("\xC1\xBF"));          // U+007F in two bytes
  EXPECT_FALSE(valid_mqtt_utf8("\xE0\x80\x80"));      // U+0000 in three
  EXPECT_FALSE(valid_mqtt_utf8("\xE0\x9F\xBF"));      // U+07FF in three
  EXPECT_FALSE(valid_mqtt_utf8("\xF0\x80\x80\x80"));  // U+0000 in four
  EXPECT_FALSE(valid_mqtt_utf8("\xF0\x8F\xBF\xBF"));  // U+FFFF in four
}

TEST(Utf8, IllFormedSequencesAreRejected) {
  EXPECT_FALSE(valid_mqtt_utf8("\x80"));              // lone continuation byte
  EXPECT_FALSE(valid_mqtt_utf8("a\xBF"));
  EXPECT_FALSE(valid_mqtt_utf8("\xC3"));              // truncated 2-byte
  EXPECT_FALSE(valid_mqtt_utf8("\xE2\x82"));          // truncated 3-byte
  EXPECT_FALSE(valid_mqtt_utf8("\xF0\x9D\x84"));      // truncated 4-byte
  EXPECT_FALSE(valid_mqtt_utf8("\xC3\x28"));          // bad continuation
  EXPECT_FALSE(valid_mqtt_utf8("\xE2\x28\xA1"));
  EXPECT_FALSE(valid_mqtt_utf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(valid_mqtt_utf8("\xF5\x80\x80\x80"));
  EXPECT_FALSE(valid_mqtt_utf8("\xF8\x88\x80\x80\x80"));  // old 5-byte form
  EXPECT_FALSE(valid_mqtt_utf8("\xFE"));
  EXPECT_FALSE(valid_mqtt_utf8("\xFF"));
  EXPECT_FALSE(valid_mqtt_utf8(std::string(17, 'a') + "\xE2\x82"));  // after the fast path
}

}  // namespace
}  // namespace petrel::protocol
