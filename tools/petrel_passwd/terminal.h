#pragma once
// Password entry for petrel_passwd: prompt, read a line from standard input with echo
// off when it is a terminal (termios), restore the terminal on every exit path,
// including SIGINT/SIGTERM.
#include <string>

namespace petrel::passwd {

// 0 with the password in out; otherwise mosquitto_passwd's exit code after printing its
// message: 1 "Error: Empty password.", 2 "Error: Passwords do not match.".
int read_new_password(std::string& out, bool prompts_to_stderr);

// Puts the terminal back and exits 0 on SIGINT/SIGTERM, as mosquitto_passwd does.
void install_signal_handlers();

}  // namespace petrel::passwd
