#pragma once
// Edits of password-file text for petrel_passwd (the tool does the file and terminal
// I/O). Lines are compared the way mosquitto_passwd compares them: the username is the
// text before the first ':', blanks trimmed. Lines that are not user lines (blank, '#'
// comments) are kept as they are, where mosquitto_passwd would call the file corrupt.
#include <string>
#include <string_view>

#include "auth/password_hash.h"
#include "common/result.h"

namespace petrel::auth {

// "user:HASH\n".
std::string password_line(std::string_view user, const PasswordHash& hash);

// mosquitto_passwd's rules: at most 65535 bytes, no control characters, no ':'. The
// error message is mosquitto_passwd's ("Username must not contain the ':' character.").
Result<void> check_username(std::string_view user);

// The text with `line` replacing user's line (the first one, when listed more than once)
// or appended when user is not listed; *replaced tells which. Error: a non-comment line
// without ':' or with an empty side ("Corrupt password file at line N.").
Result<std::string> upsert_user(std::string_view text, std::string_view user, std::string_view line,
                                bool* replaced);

// The text without user's lines; *found false when user was not listed.
Result<std::string> delete_user(std::string_view text, std::string_view user, bool* found);

// -U: every plain-text `user:password` line replaced by `user:HASH` with params. Lines
// already hashed ($6$, $7$, $argon2id$) are kept, where mosquitto_passwd would hash the
// hash and lock the user out.
Result<std::string> hash_plain_passwords(std::string_view text, const HashParams& params);

}  // namespace petrel::auth
