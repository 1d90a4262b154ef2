// Split writes that stream: mcguard stores a large value's chunks while the
// rest of it is still arriving, so the upstreams hold chunks before the
// client has sent its last byte. A value that never completes (the client
// goes away, or its data block does not end in "\r\n") leaves no chunks and
// no index behind, and the value stored before stays readable.
#include <string>

#include "split_support.h"

namespace mcguard::e2e {
namespace {

class SplitStreaming : public SplitTest {
 protected:
  // Sends the header and the first `sent` bytes of a set of `value` under
  // `key`, then waits until the upstreams hold at least `chunks` more items
  // than `before`. False (with the count seen) at the deadline.
  bool send_front_and_wait_for_chunks(Client& c, const std::string& key, const std::string& value,
                                      size_t sent, long long before, long long chunks,
                                      long long* seen) {
    const std::string header = "set " + key + " 0 0 " + std::to_string(value.size()) + "\r\n";
    if (!c.send(header + value.substr(0, sent))) return false;
    return wait_until(
        [&] {
          *seen = total_items();
          return *seen >= before + chunks;
        },
        milliseconds(10000), milliseconds(10));
  }
  // `key` reads back as `value` with `flags`.
  void expect_value(Client& c, const std::string& key, const std::string& value, uint32_t flags,
                    const char* what) {
    std::optional<Item> got = fetch(c, "get " + key + "\r\n");
    ASSERT_TRUE(got.has_value()) << what << ": a miss";
    EXPECT_EQ(got->flags, flags) << what;
    expect_same_bytes(got->value, value, what);
  }
};

TEST_F(SplitStreaming, ChunksAreStoredBeforeTheValueHasArrived) {
  ASSERT_NO_FATAL_FAILURE(start_split_proxy());
  const std::string value = random_value(5 * kMiB, 401);
  Client c = connect_proxy();
  long long seen = -1;
  // Three whole chunks' bytes (of six), and no more: three chunks can be stored.
  ASSERT_TRUE(send_front_and_wait_for_chunks(c, "streamed", value, 3 * kMiB, 0, 2, &seen))
      << seen << " items on the servers while the value is half sent: chunks wait for the end";
  Client other = connect_proxy();
  EXPECT_EQ(fetch(other, "get streamed\r\n"), std::nullopt) << "an index before its value ended";

  ASSERT_TRUE(c.send(value.substr(3 * kMiB) + "\r\n"));
  ReadResult reply = c.read_line(milliseconds(30000));
  EXPECT_EQ(reply.bytes, "STORED\r\n");
  expect_value(other, "streamed", value, 0, "the streamed value");
  auto layout = layout_of("streamed");
  ASSERT_TRUE(layout.has_value());
  EXPECT_TRUE(layout->complete());
  EXPECT_EQ(total_items(), layout->manifest.chunk_count + 1);
}

TEST_F(SplitStreaming, AClientThatGoesAwayMidValueLeavesNoChunks) {
  ASSERT_NO_FATAL_FAILURE(start_split_proxy());
  Client keeper = connect_proxy();
  const std::string old_value = random_value(2 * kMiB, 402);
  ASSERT_EQ(store(keeper, storage_command("set", "left", old_value, 3)), "STORED\r\n");
  const long long before = total_items();

  Client c = connect_proxy();
  long long seen = -1;
  ASSERT_TRUE(send_front_and_wait_for_chunks(c, "left", random_value(6 * kMiB, 403), 4 * kMiB,
                                             before, 3, &seen))
      << seen << " items; " << before << " before the value began";
  c.close();
  EXPECT_TRUE(wait_total_items(before, &seen))
      << seen << " items after the client left; " << before << " before: chunks left behind";
  expect_value(keeper, "left", old_value, 3, "the value stored before");
}

TEST_F(SplitStreaming, ADataBlockWithoutItsTerminatorIsRefusedAndLeavesNoChunks) {
  ASSERT_NO_FATAL_FAILURE(start_split_proxy());
  Client c = connect_proxy();
  const std::string old_value = random_value(3 * kMiB, 404);
  ASSERT_EQ(store(c, storage_command("set", "bad", old_value, 4)), "STORED\r\n");
  const long long before = total_items();

  const std::string value = random_value(4 * kMiB, 405);
  ASSERT_TRUE(c.send("set bad 0 0 " + std::to_string(value.size()) + "\r\n" + value + "XY"));
  // What memcached answers when a data block does not end in "\r\n".
  EXPECT_EQ(c.read_line(milliseconds(30000)).bytes, "CLIENT_ERROR bad data chunk\r\n");
  long long seen = -1;
  EXPECT_TRUE(wait_total_items(before, &seen)) << seen << " items; " << before << " before";
  expect_value(c, "bad", old_value, 4, "the value stored before");
  EXPECT_GE(proxy_stat("mcguard_split_orphan_cleanups"), 1);
}

}  // namespace
}  // namespace mcguard::e2e
