// UpstreamConnection on its own: requests queued as bytes with the reply each expects,
// matched in FIFO order to what a loopback "memcached" answers. Quiet requests take any
// replies until MN; a request whose slot is null has its reply read and dropped; a reply
// nobody waits for closes the connection without counting a failure.
#include "proxy/upstream/upstream_connection.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <cstring>
#include <string>

#include "fake_reactor.h"
#include "proxy/core/reply_queue.h"
#include "test_support.h"

namespace mcguard {
namespace {

class UpstreamConnectionTest : public ::testing::Test {
 protected:
  UpstreamConnectionTest() {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(memcached_.port());
    std::memcpy(&server_.socket_address, &address, sizeof address);
    server_.socket_address_length = sizeof address;
    server_.address = {"127.0.0.1", memcached_.port(), 1};
    server_.name = "127.0.0.1:" + std::to_string(memcached_.port());
    queue_.set_pending_pool(&replies_);
  }

  // Turns the loop until the server has `expected.size()` bytes; returns them.
  std::string received(std::string_view expected) {
    std::string got;
    test::run_until(
        reactor_,
        [&] {
          if (memcached_.accepted() == 0) return false;
          memcached_.read_available(0);
          got = memcached_.received(0);
          return got.size() >= expected.size();
        },
        [&] {
          connection_.flush();
          memcached_.try_accept();
        },
        memcached_.fds());
    memcached_.received(0).clear();
    return got;
  }

  // Turns the loop until the client can read `bytes` bytes; returns them.
  std::string client_reads(size_t bytes) {
    std::string out;
    test::run_until(
        reactor_,
        [&] {
          out += test::drain_queue(queue_);
          return out.size() >= bytes;
        },
        {}, memcached_.fds());
    return out;
  }

  test::FakeReactor reactor_;
  test::LoopbackServer memcached_;
  BufferPool pool_{64, 4096};
  PendingReplyPool replies_{pool_, 16, 8};
  ReplyGroups groups_{replies_, reactor_};
  UpstreamSettings settings_;
  UpstreamContext context_{pool_, reactor_, groups_, settings_};
  UpstreamServer server_;
  UpstreamConnection connection_{server_, context_};
  ReplyQueue queue_{pool_, 16};
};

TEST_F(UpstreamConnectionTest, ConnectsOnFirstFlushAndWritesWhatIsQueued) {
  EXPECT_FALSE(connection_.connected());
  connection_.flush();  // nothing queued: no connection
  EXPECT_EQ(reactor_.watched_count(), 0u);
  EXPECT_EQ(connection_.next_deadline_ms(), -1);

  PendingReply* slot = groups_.open(queue_, 1);
  ASSERT_TRUE(connection_.queue("version\r\n"));
  connection_.expect(Expectation::kSingle, Command::kVersion, slot);
  EXPECT_EQ(connection_.next_deadline_ms(), reactor_.now_ms() + settings_.timeout_ms);
  EXPECT_EQ(received("version\r\n"), "version\r\n");
  EXPECT_TRUE(connection_.connected());
  EXPECT_FALSE(reactor_.wants_write(memcached_.peer_fd(0))) << "only the client side watched";

  memcached_.send(0, "VERSION 1.6.21\r\n");
  EXPECT_EQ(client_reads(16), "VERSION 1.6.21\r\n");
  EXPECT_EQ(connection_.next_deadline_ms(), -1);
  EXPECT_EQ(server_.requests.get(), 1u);
}

TEST_F(UpstreamConnectionTest, QueuedIovecsAreSentInOrder) {
  const std::string value = test::pattern(10000);  // spans several pool buffers
  const std::string header = "set k 0 0 10000\r\n";
  const iovec parts[] = {{const_cast<char*>(header.data()), header.size()},
                         {const_cast<char*>(value.data()), value.size()},
                         {const_cast<char*>("\r\n"), 2}};
  ASSERT_TRUE(connection_.queue(std::span<const iovec>(parts)));
  PendingReply* slot = groups_.open(queue_, 1);
  connection_.expect(Expectation::kSingle, Command::kSet, slot);
  const std::string expected = header + value + "\r\n";
  EXPECT_EQ(received(expected), expected);
  memcached_.send(0, "STORED\r\n");
  EXPECT_EQ(client_reads(8), "STORED\r\n");
}

TEST_F(UpstreamConnectionTest, QuietRequestTakesEveryReplyUntilMn) {
  PendingReply* slot = groups_.open(queue_, 1);
  ASSERT_TRUE(connection_.queue("mg a v q\r\nmg b v q\r\nmn\r\n"));
  connection_.expect(Expectation::kQuiet, Command::kMetaGet, slot);
  EXPECT_EQ(received("mg a v q\r\nmg b v q\r\nmn\r\n"), "mg a v q\r\nmg b v q\r\nmn\r\n");
  memcached_.send(0, "VA 1\r\nx\r\nVA 2\r\nyz\r\nMN\r\n");
  EXPECT_EQ(client_reads(17), "VA 1\r\nx\r\nVA 2\r\nyz\r\n") << "MN itself is not passed on";
}

TEST_F(UpstreamConnectionTest, ReplyOfARequestWithoutASlotIsReadAndDropped) {
  ASSERT_TRUE(connection_.queue("mg a v\r\ndelete b\r\n"));
  connection_.expect(Expectation::kSingle, Command::kMetaGet, nullptr);
  PendingReply* slot = groups_.open(queue_, 1);
  connection_.expect(Expectation::kSingle, Command::kDelete, slot);
  EXPECT_EQ(received("mg a v\r\ndelete b\r\n"), "mg a v\r\ndelete b\r\n");
  memcached_.send(0, "VA 3\r\nxyz\r\nNOT_FOUND\r\n");
  EXPECT_EQ(client_reads(11), "NOT_FOUND\r\n");
}

TEST_F(UpstreamConnectionTest, ReplyNobodyWaitsForClosesWithoutCountingAFailure) {
  PendingReply* slot = groups_.open(queue_, 1);
  ASSERT_TRUE(connection_.queue("delete a\r\n"));
  connection_.expect(Expectation::kSingle, Command::kDelete, slot);
  EXPECT_EQ(received("delete a\r\n"), "delete a\r\n");
  memcached_.send(0, "DELETED\r\nDELETED\r\n");  // one too many
  EXPECT_EQ(client_reads(9), "DELETED\r\n");
  ASSERT_TRUE(test::run_until(
      reactor_, [&] { return !connection_.connected(); }, {}, memcached_.fds()));
  EXPECT_EQ(server_.failures.get(), 0u) << "no request was failed";
  EXPECT_EQ(server_.consecutive_failures, 0u);
  EXPECT_EQ(reactor_.watched_count(), 0u);
}

TEST_F(UpstreamConnectionTest, FailClosesTheConnectionAndFailsEveryRequest) {
  PendingReply* first = groups_.open(queue_, 1);
  PendingReply* second = groups_.open(queue_, 1);
  ASSERT_TRUE(connection_.queue("incr a 1\r\nincr b 1\r\n"));
  connection_.expect(Expectation::kSingle, Command::kIncr, first);
  connection_.expect(Expectation::kSingle, Command::kIncr, second);
  EXPECT_EQ(received("incr a 1\r\nincr b 1\r\n"), "incr a 1\r\nincr b 1\r\n");
  connection_.fail("upstream timeout");
  EXPECT_FALSE(connection_.connected());
  EXPECT_EQ(reactor_.watched_count(), 0u);
  EXPECT_EQ(test::drain_queue(queue_),
            "SERVER_ERROR upstream timeout\r\nSERVER_ERROR upstream timeout\r\n");
  EXPECT_EQ(server_.failures.get(), 1u);
  EXPECT_EQ(connection_.next_deadline_ms(), -1);
  ASSERT_TRUE(test::run_until(
      reactor_, [&] { return !memcached_.read_available(0); }, {}, memcached_.fds()))
      << "the server sees the connection close";
}

TEST_F(UpstreamConnectionTest, CheckTimeoutFailsOnlyOnceTheOldestRequestIsDue) {
  PendingReply* slot = groups_.open(queue_, 1);
  ASSERT_TRUE(connection_.queue("get a\r\n"));
  connection_.expect(Expectation::kSingle, Command::kGet, slot);
  EXPECT_EQ(received("get a\r\n"), "get a\r\n");
  const int64_t due = connection_.next_deadline_ms();
  connection_.check_timeout(due - 1);
  EXPECT_TRUE(connection_.connected());
  connection_.check_timeout(due);
  EXPECT_FALSE(connection_.connected());
  EXPECT_EQ(test::drain_queue(queue_), "SERVER_ERROR upstream timeout\r\n");
}

TEST(UpstreamKeyHash, SameKeySameHashDifferentKeysDiffer) {
  EXPECT_EQ(upstream_key_hash("user:1"), upstream_key_hash(std::string("user:1")));
  EXPECT_NE(upstream_key_hash("user:1"), upstream_key_hash("user:2"));
}

}  // namespace
}  // namespace mcguard
