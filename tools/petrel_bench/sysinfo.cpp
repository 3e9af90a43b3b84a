#include "sysinfo.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

namespace petrel::bench {

double self_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

double process_cpu_seconds(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!pid || !std::getline(f, line)) return -1;
  size_t close = line.rfind(')');  // the command name may contain spaces
  if (close == std::string::npos) return -1;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {  // fields 14 and 15 (1-based)
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return double(utime + stime) / double(sysconf(_SC_CLK_TCK));
}

long process_status_kb(int pid, const char* field) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  size_t n = std::strlen(field);
  while (pid && std::getline(f, line))
    if (line.compare(0, n, field) == 0 && line.size() > n && line[n] == ':') return std::stol(line.substr(n + 1));
  return -1;
}

long long process_write_bytes(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/io");
  std::string key;
  long long v = 0;
  while (pid && f >> key >> v)
    if (key == "write_bytes:") return v;
  return -1;
}

MachineCpu machine_cpu() {
  std::ifstream f("/proc/stat");
  std::string cpu;
  unsigned long long v[8] = {};  // user nice system idle iowait irq softirq steal
  f >> cpu;
  for (auto& x : v) f >> x;
  double tick = double(sysconf(_SC_CLK_TCK));
  MachineCpu m;
  m.busy = double(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / tick;
  m.softirq = double(v[5] + v[6]) / tick;
  return m;
}

uint64_t raise_fd_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 1024;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
  }
  return uint64_t(rl.rlim_cur);
}

}  // namespace petrel::bench
