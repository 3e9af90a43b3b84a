// petrel_passwd: manages password files for Petrel, with mosquitto_passwd's command line,
// messages and exit codes (Mosquitto 2.0), so scripts written for it keep working. The
// default hash is what Mosquitto 2.0 writes and reads ($7$, PBKDF2-SHA512, 101
// iterations, 12-byte salt): a file made here also works with the broker it replaces.
// Beyond mosquitto_passwd 2.0: -H argon2id, -c to "-" (standard output), -U keeps lines
// that are already hashed, comments and blank lines survive edits, and files are
// replaced atomically.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "auth/passwd_edit.h"
#include "auth/password_hash.h"
#include "file_io.h"
#include "terminal.h"

namespace {

using petrel::auth::HashKind;
using petrel::auth::HashParams;

struct Options {
  HashParams params;
  bool batch = false, create = false, del = false, update = false;
  std::string file, user, password;
};

void print_usage() {
  std::printf(
      "petrel_passwd is a tool for managing password files for Petrel and mosquitto.\n\n"
      "Usage: petrel_passwd [-H sha512-pbkdf2 | -H sha512 | -H argon2id] [-I iterations] [-c | -D] "
      "passwordfile username\n"
      "       petrel_passwd [-H sha512-pbkdf2 | -H sha512 | -H argon2id] [-I iterations] [-c] -b "
      "passwordfile username password\n"
      "       petrel_passwd -U passwordfile\n"
      " -b : run in batch mode to allow passing passwords on the command line.\n"
      " -c : create a new password file. This will overwrite existing files.\n"
      "      A file name of - writes the new file to standard output.\n"
      " -D : delete the username rather than adding/updating its password.\n"
      " -H : specify the hashing algorithm. Defaults to sha512-pbkdf2, which Mosquitto 2.0\n"
      "      reads. sha512 is for Mosquitto 1.6 and earlier; argon2id for Petrel and\n"
      "      Mosquitto 2.1.\n"
      " -I : the number of sha512-pbkdf2 iterations (default 101, as Mosquitto 2.0).\n"
      " -U : update a plain text password file to use hashed passwords.\n");
}

int fail(const char* msg) {
  std::fprintf(stderr, "%s\n", msg);
  return 1;
}

// Flags come first, as mosquitto_passwd reads them; returns -1 to go on, else the exit code.
int parse_flags(int argc, char** argv, Options& o, int& idx) {
  for (idx = 1; idx < argc; ++idx) {
    std::string a = argv[idx];
    if (a == "-H" || a == "-I") {
      if (idx + 1 == argc) {
        std::fprintf(stderr, "Error: %s argument given but not enough other arguments.\n",
                     a.c_str());
        return 1;
      }
      std::string v = argv[++idx];
      if (a == "-I") {
        char* end = nullptr;
        errno = 0;
        long n = std::strtol(v.c_str(), &end, 10);
        if (errno || end == v.c_str() || *end || n < 1 || n > 0x7fffffff) {
          return fail("Error: Number of iterations must be > 0.");
        }
        o.params.iterations = static_cast<uint32_t>(n);
      } else if (v == "sha512") {
        o.params.kind = HashKind::kSha512;
      } else if (v == "sha512-pbkdf2") {
        o.params.kind = HashKind::kPbkdf2Sha512;
      } else if (v == "argon2id") {
        o.params.kind = HashKind::kArgon2id;
      } else {
        std::fprintf(stderr, "Error: Unknown hash type '%s'\n", v.c_str());
        return 1;
      }
    } else if (a == "-b") {
      o.batch = true;
    } else if (a == "-c") {
      o.create = true;
    } else if (a == "-D") {
      o.del = true;
    } else if (a == "-U") {
      o.update = true;
    } else {
      break;
    }
  }
  if (o.create && o.del) return fail("Error: -c and -D cannot be used together.");
  if (o.create && o.update) return fail("Error: -c and -U cannot be used together.");
  if (o.del && o.update) return fail("Error: -D and -U cannot be used together.");
  if (o.del && o.batch) return fail("Error: -b and -D cannot be used together.");
  return -1;
}

int parse_args(int argc, char** argv, Options& o) {
  if (argc == 1) {
    print_usage();
    return 1;
  }
  int idx = 1;
  if (int rc = parse_flags(argc, argv, o, idx); rc >= 0) return rc;
  const int left = argc - idx;
  if (o.create && left < (o.batch ? 3 : 2)) {
    return fail(o.batch
                    ? "Error: -c argument given but password file, username, or password missing."
                    : "Error: -c argument given but password file or username missing.");
  }
  if (o.del && left < 2)
    return fail("Error: -D argument given but password file or username missing.");
  if (o.update && left != 1) return fail("Error: -U argument given but password file missing.");
  if (!o.create && !o.del && !o.update && left != (o.batch ? 3 : 2)) {
    print_usage();
    return 1;
  }
  o.file = argv[idx];
  if (!o.update) o.user = argv[idx + 1];
  if (o.batch && !o.del && !o.update) o.password = argv[idx + 2];
  if (auto r = petrel::auth::check_username(o.user); !r) {
    std::fprintf(stderr, "Error: %s\n", r.error().message.c_str());
    return 1;
  }
  if (o.password.size() > 65535)
    return fail("Error: Password must be less than 65536 characters long.");
  return -1;
}

// The "user:HASH\n" line for o.user, prompting for the password unless -b.
int new_line(Options& o, std::string& line) {
  if (!o.batch) {
    if (int rc = petrel::passwd::read_new_password(o.password, o.file == "-"); rc != 0) return rc;
  }
  auto h = petrel::auth::hash_password(o.password, o.params);
  if (!h) return fail("Error: Unable to hash password.");
  line = petrel::auth::password_line(o.user, *h);
  return 0;
}

int run_create(Options& o) {
  std::string line;
  if (int rc = new_line(o, line); rc != 0) return rc;
  if (o.file == "-") {
    std::fputs(line.c_str(), stdout);
    return std::fflush(stdout) == 0 ? 0 : 1;
  }
  return petrel::passwd::write_file_atomic(o.file, line) ? 0 : 1;
}

int run_edit(Options& o) {
  std::string text;
  if (!petrel::passwd::read_file(o.file, text)) {
    std::fprintf(stderr, "Error: Unable to open password file %s. %s.\n", o.file.c_str(),
                 std::strerror(errno));
    return 1;
  }
  petrel::Result<std::string> out = std::string();
  if (o.del) {
    bool found = false;
    out = petrel::auth::delete_user(text, o.user, &found);
    if (out && !found) {
      std::fprintf(stderr, "Warning: User %s not found in password file.\n", o.user.c_str());
      return 1;
    }
  } else if (o.update) {
    out = petrel::auth::hash_plain_passwords(text, o.params);
  } else {
    std::string line;
    if (int rc = new_line(o, line); rc != 0) return rc;
    out = petrel::auth::upsert_user(text, o.user, line, nullptr);
  }
  if (!out) {
    std::fprintf(stderr, "Error: %s\n", out.error().message.c_str());
    return 1;
  }
  return petrel::passwd::write_file_atomic(o.file, *out) ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  petrel::passwd::install_signal_handlers();
  Options o;
  if (int rc = parse_args(argc, argv, o); rc >= 0) return rc;
  return o.create ? run_create(o) : run_edit(o);
}
