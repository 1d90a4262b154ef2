#include "proxy/admin/stats_snapshot.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>

namespace mcguard::admin {
namespace {

uint64_t read_resident_bytes() {
  long pages = 0, resident = 0;
  FILE* file = std::fopen("/proc/self/statm", "r");
  if (file == nullptr) return 0;
  const int read = std::fscanf(file, "%ld %ld", &pages, &resident);
  std::fclose(file);
  return read == 2 ? static_cast<uint64_t>(resident) * static_cast<uint64_t>(sysconf(_SC_PAGESIZE))
                   : 0;
}

}  // namespace

ProcessFacts ProcessFacts::read(time_t started) {
  ProcessFacts facts;
  facts.pid = getpid();
  facts.started = started;
  facts.now = ::time(nullptr);
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  facts.user_cpu = usage.ru_utime;
  facts.system_cpu = usage.ru_stime;
  facts.resident_bytes = read_resident_bytes();
  return facts;
}

}  // namespace mcguard::admin
