// Differential tests of malformed requests: unknown commands, bad formats, key
// length limits, negative lengths and bad data chunks. After each error the
// connection must be in the same state as memcached's (same later replies).
#include "differential.h"

namespace mcguard::e2e {
namespace {

TEST_F(Differential, UnknownCommand) {
  expect_same("foo\r\n");
  expect_same("GET a\r\n");  // commands are case-sensitive
  expect_same("gett a\r\nsets a 0 0 1\r\n");
  expect_same("\r\n");
  expect_same(" \r\n");
  expect_same("foo bar baz\r\nget a\r\n");
}

TEST_F(Differential, BareNewlineEndsALine) {
  expect_same("set a 0 0 1\nx\r\nget a\n");
  expect_same("get a \r\n");      // trailing space
  expect_same("get  a   b\r\n");  // repeated spaces
}

TEST_F(Differential, BadCommandLineFormat) {
  expect_same("set\r\n");
  expect_same("set a\r\n");
  expect_same("set a 0\r\n");
  expect_same("set a 0 0\r\n");
  expect_same("set a 0 0 1 noreply extra\r\nx\r\n");
  expect_same("set a 0 0 abc\r\n");
  expect_same("set a 0 0 1x\r\nx\r\n");
  expect_same("cas a 0 0 1\r\nx\r\n");  // cas without the unique
  expect_same("touch a\r\nincr a\r\ndecr\r\ndelete a b c\r\n");
}

TEST_F(Differential, NegativeLength) {
  expect_same("set a 0 0 -1\r\nget a\r\n");
  expect_same("set a 0 0 1\r\nx\r\nappend a 0 0 -5\r\nget a\r\n");
  expect_same("set a 0 0 -2147483648\r\nget a\r\n");
  // Lengths above INT_MAX - 2 are format errors, not oversized values.
  expect_same("set a 0 0 2147483648\r\nget a\r\n");
  expect_same("set a 0 0 2147483646\r\nget a\r\n");
}

TEST_F(Differential, KeyLengthLimit) {
  const std::string ok(250, 'k');
  const std::string too_long(251, 'k');
  expect_same("set " + ok + " 0 0 1\r\nx\r\nget " + ok + "\r\n");
  expect_same("set " + too_long + " 0 0 1\r\nx\r\n");  // the data line is then a command
  expect_same("get " + too_long + "\r\n");
  expect_same("get a " + too_long + " b\r\n");
  expect_same("gets " + too_long + "\r\n");
  expect_same("delete " + too_long + "\r\n");
  expect_same("incr " + too_long + " 1\r\n");
  expect_same("touch " + too_long + " 1\r\n");
  expect_same("mg " + too_long + " v\r\n");
  expect_same("ms " + too_long + " 1\r\nx\r\n");
  expect_same("get " + ok + "\r\n");
}

TEST_F(Differential, BadDataChunk) {
  expect_same("set a 0 0 1\r\nxyz\r\nget a\r\n");    // more data than announced
  expect_same("set a 0 0 3\r\nx\r\n\r\nget a\r\n");  // the value is "x\r\n"
  expect_same("set a 0 0 2\r\nxy\n\r\nget a\r\n");   // "\n" instead of "\r\n"
  expect_same("set a 0 0 2\r\nxyzw\r\nget a\r\n");
  expect_same("set a 0 0 1\r\nx\r\nset a 0 0 1\r\nyy\r\nget a\r\n");  // the old value survives
  expect_same("ms a 1\r\nxyz\r\nget a\r\n");
}

TEST_F(Differential, BadDataChunkArrivingLater) {
  // The data block and its bad terminator arrive in separate writes.
  auto send_both = [&](std::string_view bytes) {
    ASSERT_TRUE(client(Side::kReference).send(bytes));
    ASSERT_TRUE(client(Side::kSubject).send(bytes));
  };
  send_both("set a 0 0 4\r\nab");
  EXPECT_TRUE(client(Side::kSubject).quiet_for(milliseconds(50)));
  send_both("cd");
  EXPECT_TRUE(client(Side::kSubject).quiet_for(milliseconds(50)));
  expect_same("XX\r\nget a\r\n");
}

TEST_F(Differential, OverlongLineWithoutNewline) {
  // A non-get request line of 3,000 bytes with no end in sight: memcached gives
  // up on the connection.
  const std::string line = "set " + std::string(3000, 'x');
  std::string received[2];
  bool closed[2];
  for (Side side : {Side::kReference, Side::kSubject}) {
    ASSERT_TRUE(client(side).send(line));
  }
  for (Side side : {Side::kReference, Side::kSubject}) {
    const int i = side == Side::kReference ? 0 : 1;
    closed[i] = client(side).wait_for_close(milliseconds(3000), &received[i]);
  }
  EXPECT_EQ(closed[0], closed[1]) << "memcached closed: " << closed[0];
  EXPECT_EQ(escape(received[0]), escape(received[1]));
}

TEST_F(Differential, LongGetLineArrivingInPieces) {
  // get lines may be long: memcached keeps reading until the newline.
  const std::string key(240, 'g');
  expect_same("set " + key + " 0 0 1\r\nx\r\n");
  std::string line = "get";
  for (int i = 0; i < 20; ++i) line += " " + key;
  for (Side side : {Side::kReference, Side::kSubject}) {
    ASSERT_TRUE(client(side).send(line.substr(0, 2500)));
  }
  EXPECT_TRUE(client(Side::kSubject).quiet_for(milliseconds(50)));
  expect_same(line.substr(2500) + "\r\n");
}

}  // namespace
}  // namespace mcguard::e2e
