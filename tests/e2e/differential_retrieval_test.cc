// Differential tests of retrieval and the other classic commands: get gets gat
// gats (multi-key), delete, incr/decr, touch.
#include "differential.h"

namespace mcguard::e2e {
namespace {

constexpr std::string_view kThreeItems =
    "set a 1 0 1\r\nA\r\nset b 2 0 2\r\nBB\r\nset c 3 0 3\r\nCCC\r\n";

TEST_F(Differential, GetMultiKeyInRequestOrder) {
  expect_same(kThreeItems);
  expect_same("get c a missing b\r\n");
  expect_same("get a a a\r\n");  // repeated keys are answered repeatedly
  expect_same("get missing1 missing2\r\n");
  expect_same("get\r\n");  // no key
}

// memcached stores keys with any byte but a space, '\n' and NUL, and echoes them as sent
// (memaslap's keys begin with 0x10 bytes). Through the upstream tier too, where such
// keys share get lines with other clients' keys.
TEST_F(Differential, KeysWithControlCharactersInClassicCommands) {
  const std::string keys[] = {std::string("a\x01z"), std::string("tab\tkey"),
                              std::string("del\x7f"), std::string("\x10\x10\x10\x10n1FU0ttC")};
  std::string all = "get";
  for (const auto& key : keys) {
    expect_same("set " + key + " 7 0 2\r\nhi\r\nget " + key + " plain " + key + "\r\nappend " +
                key + " 0 0 1\r\n!\r\ntouch " + key + " 100\r\nincr " + key + " 1\r\n");
    all += " " + key;
  }
  expect_same(all + "\r\n");
  for (const auto& key : keys) expect_same("delete " + key + "\r\nget " + key + "\r\n");
}

TEST_F(Differential, GetsMultiKey) {
  expect_same(kThreeItems);
  expect_same("gets b missing a c\r\n");
  expect_same("set a 1 0 1\r\nZ\r\ngets a b\r\n");  // a's CAS changes, b's does not
}

TEST_F(Differential, GatAndGatsUpdateTtl) {
  expect_same(kThreeItems);
  expect_same("gat 0 a b missing\r\n");
  expect_same("gats 1000 c a\r\n");
  expect_same("gat -1 b\r\nget b\r\n");  // a past TTL expires the item
  expect_same("gat a\r\n");              // no TTL
  expect_same("gat abc a\r\n");          // bad TTL
}

TEST_F(Differential, LongMultiGetLine) {
  std::string sets;
  std::string get = "get";
  for (int i = 0; i < 100; ++i) {
    std::string key = "key-with-a-long-name-number-" + std::to_string(i);
    sets += "set " + key + " 0 0 " + std::to_string(key.size()) + "\r\n" + key + "\r\n";
    get += " " + key;
  }
  expect_same(sets);
  expect_same(get + "\r\n");  // a request line of about 3,300 bytes
}

TEST_F(Differential, VeryLongMultiGetLine) {
  // 1,000 keys of 40 bytes: a 41 KB request line, far beyond any header limit
  // that applies to other commands.
  std::string sets;
  std::string get = "get";
  for (int i = 0; i < 1000; ++i) {
    std::string key = "k" + std::string(35, 'x') + std::to_string(1000 + i);
    if (i % 3 == 0) sets += "set " + key + " 0 0 1\r\nv\r\n";
    get += " " + key;
  }
  expect_same(sets);
  expect_same(get + "\r\n");
}

TEST_F(Differential, Delete) {
  expect_same(kThreeItems);
  expect_same("delete a\r\ndelete a\r\nget a b\r\n");
  expect_same("delete b noreply\r\ndelete missing noreply\r\nget b\r\n");
  expect_same("delete c 0\r\nget c\r\n");  // the legacy time argument 0 is accepted
  expect_same("set c 0 0 1\r\nc\r\ndelete c 5\r\nget c\r\n");  // a non-zero time is refused
  expect_same("delete\r\n");
}

TEST_F(Differential, IncrDecr) {
  expect_same("set n 5 0 2\r\n10\r\nincr n 5\r\nget n\r\ndecr n 3\r\ngets n\r\n");
  // Length changes: memcached pads a shorter decr result with spaces.
  expect_same("set n 0 0 2\r\n99\r\nincr n 1\r\nget n\r\ndecr n 1\r\nget n\r\n");
  expect_same("incr missing 1\r\ndecr missing 1\r\n");  // NOT_FOUND
  expect_same("incr n 18446744073709551615\r\nincr n 0\r\n");
}

TEST_F(Differential, IncrWrapsAndDecrStopsAtZero) {
  expect_same("set n 0 0 20\r\n18446744073709551615\r\nincr n 1\r\nget n\r\n");
  expect_same("set n 0 0 20\r\n18446744073709551610\r\nincr n 10\r\nget n\r\n");
  expect_same("set n 0 0 1\r\n5\r\ndecr n 6\r\nget n\r\ndecr n 1\r\n");
  expect_same("set n 0 0 1\r\n5\r\ndecr n 18446744073709551615\r\nget n\r\n");
}

TEST_F(Differential, IncrDecrErrors) {
  expect_same("set s 0 0 3\r\nabc\r\nincr s 1\r\ndecr s 1\r\n");  // non-numeric value
  expect_same("set n 0 0 1\r\n1\r\nincr n abc\r\nincr n -1\r\ndecr n\r\n");
  expect_same("incr n 18446744073709551616\r\nget n\r\n");                   // delta out of range
  expect_same("set big 0 0 21\r\n184467440737095516150\r\nincr big 1\r\n");  // value > 2^64
  expect_same("set sp 0 0 2\r\n1 \r\nincr sp 1\r\nset e 0 0 0\r\n\r\nincr e 1\r\n");
}

TEST_F(Differential, IncrDecrNoreply) {
  expect_same("set n 0 0 1\r\n1\r\nincr n 2 noreply\r\ndecr n 1 noreply\r\nget n\r\n");
  expect_same("incr missing 1 noreply\r\nset s 0 0 1\r\nx\r\nincr s 1 noreply\r\n");
}

TEST_F(Differential, Touch) {
  expect_same(kThreeItems);
  expect_same("touch a 1000\r\ntouch missing 10\r\nget a\r\n");
  expect_same("touch b -1\r\nget b\r\n");
  expect_same("touch c 0 noreply\r\ntouch missing 0 noreply\r\nget c\r\n");
  expect_same("touch c\r\ntouch c abc\r\n");
}

}  // namespace
}  // namespace mcguard::e2e
