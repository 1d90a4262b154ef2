// Retrieval lines: the gets a turn takes, from any client, reach the upstream
// as few lines (memcached writes once per get line), and every client still
// gets its own replies, in its own order.
#include <gtest/gtest.h>

#include <string>

#include "upstream_harness.h"

namespace mcguard {
namespace {

using test::UpstreamHarness;

TEST(RetrievalLine, GetsOfOneTurnFromSeveralClientsShareOneLine) {
  UpstreamHarness h(1);
  auto second = h.another_client(7);
  auto third = h.another_client(8);
  h.execute("get a\r\n");
  h.execute("get b c\r\n", *second);
  h.execute("get a\r\n", *third);  // the same key twice on one line
  EXPECT_EQ(h.receive(0, "get a b c a\r\n"), "get a b c a\r\n");
  EXPECT_EQ(h.upstream(0).requests.get(), 1u) << "one line, one request";

  h.reply(0, "VALUE a 0 1\r\n1\r\nVALUE c 0 1\r\n3\r\nVALUE a 0 1\r\n1\r\nEND\r\n");
  EXPECT_EQ(h.client_reads(20), "VALUE a 0 1\r\n1\r\nEND\r\n");
  EXPECT_EQ(test::drain_queue(*second), "VALUE c 0 1\r\n3\r\nEND\r\n") << "b missed";
  EXPECT_EQ(test::drain_queue(*third), "VALUE a 0 1\r\n1\r\nEND\r\n");
  EXPECT_EQ(h.replies().available(), h.replies().capacity());
}

TEST(RetrievalLine, AnotherClientsSetGoesAheadOfTheOpenLine) {
  UpstreamHarness h(1);
  auto writer = h.another_client(7);
  h.execute("get a\r\n");
  h.execute("set b 0 0 1\r\nx\r\n", *writer);
  h.execute("get c\r\n");
  const std::string wire = "set b 0 0 1\r\nx\r\nget a c\r\n";
  EXPECT_EQ(h.receive(0, wire), wire);
  h.reply(0, "STORED\r\nVALUE c 0 1\r\nz\r\nEND\r\n");
  const std::string replies = "END\r\nVALUE c 0 1\r\nz\r\nEND\r\n";
  EXPECT_EQ(h.client_reads(replies.size()), replies);
  EXPECT_EQ(test::drain_queue(*writer), "STORED\r\n");
}

TEST(RetrievalLine, AClientsOwnNextRequestEndsItsLineFirst) {
  UpstreamHarness h(2);
  const std::string here = h.key_on(0, "here");
  const std::string there = h.key_on(1, "there");
  // The set goes to the other server, but its client's get must still be
  // written before it, on every server where that client has a key waiting.
  h.execute("get " + here + "\r\nset " + there + " 0 0 1\r\nx\r\nget " + here + "\r\n");
  const std::string wire = "get " + here + "\r\nget " + here + "\r\n";
  EXPECT_EQ(h.receive(0, wire), wire) << "the set ended the first line";
  const std::string set = "set " + there + " 0 0 1\r\nx\r\n";
  EXPECT_EQ(h.receive(1, set), set);
}

TEST(RetrievalLine, DifferentVerbsAndExptimesOpenNewLines) {
  UpstreamHarness h(1);
  h.execute("get a\r\ngets b\r\ngat 10 c\r\ngat 10 d\r\ngat 20 e\r\nget f\r\n");
  const std::string wire = "get a\r\ngets b\r\ngat 10 c d\r\ngat 20 e\r\nget f\r\n";
  EXPECT_EQ(h.receive(0, wire), wire);
  h.reply(0, "END\r\nEND\r\nEND\r\nEND\r\nEND\r\n");
  EXPECT_EQ(h.client_reads(30), "END\r\nEND\r\nEND\r\nEND\r\nEND\r\nEND\r\n")
      << "one END for each request";
}

TEST(RetrievalLine, LinesStayWithinMemcachedsUnfinishedLineLimit) {
  UpstreamHarness h(1);
  // memcached closes a connection whose unfinished gat line passes 2048 bytes.
  const std::string key(200, 'k');
  std::string input;
  for (int i = 0; i < 30; ++i) input += "gat 5 " + key + std::to_string(i % 10) + "\r\n";
  h.execute(input);
  std::string wire;
  const auto keys_received = [&] {
    size_t count = 0;
    for (size_t at = wire.find(key); at != std::string::npos; at = wire.find(key, at + 1)) ++count;
    return count;
  };
  ASSERT_TRUE(h.run_until([&] {
    wire += h.received(0);
    return keys_received() == 30 && wire.ends_with("\r\n");
  }));
  size_t lines = 0;
  for (size_t start = 0; start < wire.size(); ++lines) {
    const size_t end = wire.find("\r\n", start);
    ASSERT_NE(end, std::string::npos);
    EXPECT_LE(end + 2 - start, 2048u) << "line " << lines;
    EXPECT_EQ(wire.compare(start, 6, "gat 5 "), 0) << "line " << lines;
    start = end + 2;
  }
  EXPECT_GT(lines, 1u);
  EXPECT_LT(lines, 30u) << "keys still share lines";
}

TEST(RetrievalLine, AFailedConnectionFailsTheOpenLinesKeysToo) {
  UpstreamHarness h(1);
  h.execute("get a\r\n");
  EXPECT_EQ(h.receive(0, "get a\r\n"), "get a\r\n");
  h.execute("get b\r\n");  // its line opens; the connection fails before the flush
  h.hang_up(0);
  const std::string error = "SERVER_ERROR upstream closed the connection\r\n";
  EXPECT_EQ(h.client_reads(2 * error.size()), error + error);
  EXPECT_EQ(h.replies().available(), h.replies().capacity());
}

}  // namespace
}  // namespace mcguard
