#include "terminal.h"

#include <termios.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>

namespace petrel::passwd {
namespace {

// The terminal settings to restore; a signal handler can only reach file-scope state.
struct termios g_saved;
volatile sig_atomic_t g_echo_off = 0;

void restore_terminal() {
  if (g_echo_off) {
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &g_saved);
    g_echo_off = 0;
  }
}

void on_signal(int) {
  restore_terminal();
  _exit(0);
}

bool echo_off() {
  if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &g_saved) != 0) return false;
  struct termios t = g_saved;
  t.c_lflag &= static_cast<tcflag_t>(~ECHO);
  if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) != 0) return false;
  g_echo_off = 1;
  return true;
}

// One line from stdin without its line end; false at end of input with nothing read.
bool read_line(FILE* prompt_to, const char* prompt, std::string& out) {
  std::fputs(prompt, prompt_to);
  std::fflush(prompt_to);
  bool silenced = echo_off();
  out.clear();
  int c;
  bool any = false;
  while ((c = std::getchar()) != EOF) {
    any = true;
    if (c == '\n') break;
    out.push_back(static_cast<char>(c));
    if (out.size() > 65535) break;
  }
  if (!out.empty() && out.back() == '\r') out.pop_back();
  restore_terminal();
  if (silenced) std::fputs("\n", prompt_to);
  return any;
}

}  // namespace

int read_new_password(std::string& out, bool prompts_to_stderr) {
  FILE* to = prompts_to_stderr ? stderr : stdout;
  std::string again;
  bool got = read_line(to, "Password: ", out);
  if (!got || out.empty()) {
    std::fprintf(stderr, "Error: Empty password.\n");
    return 1;
  }
  if (out.size() > 65535) {
    std::fprintf(stderr, "Error: Password must be less than 65536 characters long.\n");
    return 1;
  }
  read_line(to, "Reenter password: ", again);
  if (again != out) {
    std::fprintf(stderr, "Error: Passwords do not match.\n");
    return 2;
  }
  return 0;
}

void install_signal_handlers() {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
}

}  // namespace petrel::passwd
