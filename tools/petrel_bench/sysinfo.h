#pragma once
// Process accounting: our own CPU time (getrusage), another process's CPU time and memory
// (/proc/PID/stat, /proc/PID/status, /proc/PID/io), and the file-descriptor limit.
#include <cstdint>

namespace petrel::bench {

double self_cpu_seconds();               // user + system, all threads
double process_cpu_seconds(int pid);     // utime + stime; < 0 when unreadable
long process_status_kb(int pid, const char* field);  // "VmRSS", "VmHWM"; < 0 when unreadable
// Bytes the process (all its threads) caused to be written to storage, from /proc/PID/io
// (write_bytes: counted when pages are dirtied; 0 on tmpfs); < 0 when unreadable.
long long process_write_bytes(int pid);
uint64_t raise_fd_limit();               // soft limit raised to the hard limit; returns it

// Whole-machine CPU seconds from /proc/stat (all cores): busy = everything but idle/iowait.
struct MachineCpu {
  double busy = 0, softirq = 0;
};
MachineCpu machine_cpu();

}  // namespace petrel::bench
