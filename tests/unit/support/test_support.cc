#include "test_support.h"

#include <algorithm>

#include "proxy/core/connection.h"
#include "proxy/core/reply_queue.h"

namespace mcguard::test {

std::string drain_queue(ReplyQueue& queue, size_t max_write, size_t max_iov) {
  constexpr size_t kMaxIov = 64;
  std::string out;
  iovec iov[kMaxIov];
  while (!queue.empty()) {
    const size_t n = queue.gather(iov, std::min(max_iov, kMaxIov));
    if (n == 0) break;  // the next reply is still awaited
    const std::string offered = join(iov, n);
    const size_t taken = std::min(max_write, offered.size());
    out.append(offered, 0, taken);
    queue.consume(taken);
  }
  return out;
}

void drain_connection(Connection& connection, std::string& output) {
  while (connection.wants_write()) {
    iovec iov[64];
    const size_t count = connection.write_iovecs(iov, 64);
    const std::string offered = join(iov, count);
    output += offered;
    connection.on_written(offered.size());
  }
}

}  // namespace mcguard::test
