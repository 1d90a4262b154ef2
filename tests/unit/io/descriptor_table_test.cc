// DescriptorTable: the process-wide per-descriptor tables the workers' event
// loops share. Reserved for every descriptor the process can have, zero until
// written, resident only where written; owner ids are unique among live loops.
#include "proxy/io/descriptor_table.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <set>
#include <string>

namespace mcguard {
namespace {

long rss_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

TEST(DescriptorTable, CoversEveryDescriptorTheProcessCanHave) {
  DescriptorTable table(40);
  rlimit limit{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &limit), 0);
  EXPECT_GE(table.capacity(), static_cast<size_t>(limit.rlim_cur));
  if (limit.rlim_max != RLIM_INFINITY) {
    EXPECT_GE(table.capacity(), std::min<size_t>(limit.rlim_max, size_t{1} << 26));
  }
}

TEST(DescriptorTable, EntriesStartZeroAndOnlyWrittenPagesAreResident) {
  // A page per entry: a reservation far larger than what one written entry may cost.
  constexpr size_t kEntry = 4096;
  DescriptorTable table(kEntry);
  ASSERT_GE(table.capacity(), 1024u);
  auto* bytes = static_cast<unsigned char*>(table.base());
  const long before = rss_kib();
  for (size_t fd : {size_t{0}, size_t{3}, table.capacity() / 2, table.capacity() - 1}) {
    bytes[fd * kEntry + 7] = 1;
  }
  const long after = rss_kib();
  EXPECT_LT(after - before, 1024) << "the reservation of " << table.capacity() * kEntry
                                  << " bytes became resident";
  EXPECT_EQ(bytes[5 * kEntry], 0);
  EXPECT_EQ(bytes[3 * kEntry + 7], 1);
}

TEST(DescriptorTable, ProcessTableIsOnePerType) {
  size_t capacity = 0;
  uint64_t* first = process_table<uint64_t>(&capacity);
  size_t again = 0;
  EXPECT_EQ(process_table<uint64_t>(&again), first);
  EXPECT_EQ(again, capacity);
  EXPECT_NE(static_cast<void*>(process_table<uint32_t>(&again)), static_cast<void*>(first));
}

TEST(DescriptorTable, OwnerIdsAreUniqueAndReused) {
  std::set<uint16_t> ids;
  for (int i = 0; i < 100; ++i) {
    const uint16_t id = acquire_owner_id();
    EXPECT_GE(id, 1);
    EXPECT_LE(id, kMaxOwnerId);
    EXPECT_TRUE(ids.insert(id).second) << "id " << id << " given twice";
  }
  const uint16_t freed = *ids.begin();
  release_owner_id(freed);
  EXPECT_EQ(acquire_owner_id(), freed);
  for (uint16_t id : ids) release_owner_id(id);
}

}  // namespace
}  // namespace mcguard
