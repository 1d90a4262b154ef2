// Differential tests of flush_all, verbosity and quit, and format checks of
// the replies that legitimately differ between servers (version, stats).
#include <regex>
#include <thread>

#include "differential.h"

namespace mcguard::e2e {
namespace {

// Sends `request` until its reply, read up to END, is `wanted` or `limit` has
// passed, polling every `interval`. Any other reply must be `otherwise` when
// that is given. Returns whether `wanted` came.
bool poll_for_reply(Client& c, const std::string& request, std::string_view wanted,
                    milliseconds limit, milliseconds interval, std::string_view otherwise = {}) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    EXPECT_TRUE(c.send(request));
    ReadResult r = c.read_until(
        [](std::string_view got) {
          size_t at = got.find("END\r\n");
          return at == std::string_view::npos ? 0 : at + 5;
        },
        kReplyDeadline);
    EXPECT_FALSE(r.timed_out || r.closed) << escape(r.bytes);
    if (r.timed_out || r.closed) return false;
    if (r.bytes == wanted) return true;
    if (!otherwise.empty()) {
      EXPECT_EQ(r.bytes, otherwise);
    }
    std::this_thread::sleep_for(interval);
  }
  return false;
}

TEST_F(Differential, FlushAll) {
  expect_same("set a 0 0 1\r\nx\r\nset b 0 0 1\r\ny\r\nflush_all\r\nget a b\r\n");
  expect_same("set a 0 0 1\r\nx\r\nflush_all 0\r\nget a\r\n");
  expect_same("set a 0 0 1\r\nx\r\nflush_all noreply\r\nget a\r\n");
  expect_same("set a 0 0 1\r\nx\r\nflush_all 0 noreply\r\nget a\r\nset a 0 0 1\r\nz\r\nget a\r\n");
  expect_same("flush_all abc\r\nflush_all -1\r\n");
}

TEST_F(Differential, FlushAllWithDelay) {
  // "flush_all 3" invalidates what is stored now, but only once the delay has
  // passed: the item is still there at once and gone within a few seconds.
  // (memcached's clock ticks once a second, so the delay is 2..3 s there.)
  expect_same("set k 0 0 1\r\nx\r\nflush_all 3\r\nget k\r\n");
  for (Side side : {Side::kReference, Side::kSubject}) {
    SCOPED_TRACE(side == Side::kReference ? "memcached" : subject_name());
    bool gone = poll_for_reply(client(side), "get k\r\n", "END\r\n", milliseconds(6000),
                               milliseconds(50), "VALUE k 0 1\r\nx\r\nEND\r\n");
    EXPECT_TRUE(gone) << "flush_all 3 did not take effect within 6 s";
  }
  // Items stored after the flush took effect are kept. An item stored in the
  // very second the flush took effect is still flushed (memcached compares
  // whole seconds), so each side is given until its next second.
  for (Side side : {Side::kReference, Side::kSubject}) {
    SCOPED_TRACE(side == Side::kReference ? "memcached" : subject_name());
    bool kept = poll_for_reply(client(side), "set k 0 0 1\r\ny\r\nget k\r\n",
                               "STORED\r\nVALUE k 0 1\r\ny\r\nEND\r\n", milliseconds(3000),
                               milliseconds(100));
    EXPECT_TRUE(kept) << "an item stored after the flush was not kept";
  }
}

TEST_F(Differential, FlushAllNoreplyWithDelay) {
  expect_same("set k 0 0 1\r\nx\r\nflush_all 100 noreply\r\nget k\r\n");
}

TEST_F(Differential, ItemsExpire) {
  // A one-second TTL: present at once, gone within a few seconds, on both.
  expect_same("set k 0 1 1\r\nx\r\nset forever 0 0 1\r\ny\r\nget k\r\n");
  for (Side side : {Side::kReference, Side::kSubject}) {
    SCOPED_TRACE(side == Side::kReference ? "memcached" : subject_name());
    bool gone =
        poll_for_reply(client(side), "get k\r\n", "END\r\n", milliseconds(4000), milliseconds(50));
    EXPECT_TRUE(gone) << "an item with a 1 s TTL was still there after 4 s";
  }
  expect_same("get k forever\r\nmg k v\r\ntouch k 10\r\n");
}

TEST_F(Differential, Verbosity) {
  expect_same("verbosity 1\r\nverbosity 0\r\nverbosity 0 noreply\r\n");
  expect_same("verbosity\r\n");
  expect_same("verbosity abc\r\n");
}

TEST_F(Differential, QuitClosesTheConnection) {
  Replies r = expect_same("quit\r\n");
  EXPECT_TRUE(r.subject.closed);
  EXPECT_EQ(r.subject.bytes, "");
  reconnect();
  // Replies before the quit are delivered; commands after it are not run.
  r = expect_same("set a 0 0 1\r\nx\r\nget a\r\nquit\r\nset a 0 0 1\r\ny\r\n");
  EXPECT_TRUE(r.subject.closed);
  reconnect();
  expect_same("get a\r\n");
}

TEST_F(Differential, VersionFormat) {
  Client& c = client(Side::kSubject);
  ASSERT_TRUE(c.send("version\r\n"));
  ReadResult line = c.read_line();
  ASSERT_FALSE(line.timed_out || line.closed) << escape(line.bytes);
  // memcached's shape, a bare major.minor.patch: clients parse it as a number.
  EXPECT_TRUE(std::regex_match(line.bytes, std::regex("VERSION [0-9]+\\.[0-9]+\\.[0-9]+\r\n")))
      << escape(line.bytes);
  // Still in sync afterwards.
  expect_same("get x\r\n");
}

TEST_F(Differential, StatsFormat) {
  expect_same("set a 0 0 1\r\nx\r\nget a\r\n");
  Client& c = client(Side::kSubject);
  ASSERT_TRUE(c.send("stats\r\n"));
  ReadResult r = c.read_until(
      [](std::string_view got) {
        size_t at = got.find("END\r\n");
        return at == std::string_view::npos ? 0 : at + 5;
      },
      kReplyDeadline);
  ASSERT_FALSE(r.timed_out || r.closed) << escape(r.bytes);
  static const std::regex kStatLine("STAT [^ \r\n]+ [^\r\n]*\r\n");
  size_t pos = 0;
  int stat_lines = 0;
  while (pos < r.bytes.size()) {
    size_t eol = r.bytes.find("\r\n", pos) + 2;
    std::string line = r.bytes.substr(pos, eol - pos);
    pos = eol;
    if (line == "END\r\n") break;
    EXPECT_TRUE(std::regex_match(line, kStatLine)) << "not a STAT line: " << escape(line);
    ++stat_lines;
  }
  EXPECT_EQ(pos, r.bytes.size());
  EXPECT_GT(stat_lines, 0);
  expect_same("get a\r\n");  // the connection is still in step
}

}  // namespace
}  // namespace mcguard::e2e
