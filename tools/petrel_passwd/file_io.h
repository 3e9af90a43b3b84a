#pragma once
// Password-file I/O for petrel_passwd. Writes are atomic: a temporary file beside the
// target, fsync, then rename, so a crash or a full disk never leaves a half-written
// password file (mosquitto_passwd rewrites the file in place). The replaced file's mode
// and, when permitted, owner are kept; a new file is created 0600.
#include <string>

namespace petrel::passwd {

// The file's contents; false with errno set when it cannot be read.
bool read_file(const std::string& path, std::string& out);

// Replaces path (following a symlink to its target) with text. On failure prints
// "Error: ..." to stderr and returns false.
bool write_file_atomic(const std::string& path, const std::string& text);

}  // namespace petrel::passwd
