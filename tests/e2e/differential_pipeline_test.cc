// Differential tests of pipelining: batches of 100 mixed commands sent in one
// write, and the same batch dribbled in tiny writes. Replies must come back
// complete and in request order.
#include <random>

#include "differential.h"

namespace mcguard::e2e {
namespace {

// A reproducible batch of `count` mixed commands over a few keys, so that
// commands hit, miss and interact (append to a number, incr after set, ...).
std::string mixed_batch(uint32_t seed, int count) {
  std::mt19937 rng(seed);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint32_t>(n)); };
  static constexpr std::string_view kKeys[] = {"k0", "k1", "k2", "num", "k4", "big"};
  auto key = [&] { return std::string(kKeys[pick(std::size(kKeys))]); };
  auto noreply = [&] { return pick(4) == 0 ? std::string(" noreply") : std::string(); };
  auto value = [&] {
    if (pick(3) == 0) return std::to_string(pick(1000));  // numeric: incr can work
    return make_value(static_cast<size_t>(pick(3) == 0 ? pick(70000) : pick(40)), rng());
  };
  std::string out;
  for (int i = 0; i < count; ++i) {
    switch (pick(16)) {
      case 0:
      case 1:
      case 2: {
        static constexpr std::string_view kStore[] = {"set", "add", "replace", "append", "prepend"};
        std::string v = value();
        out += std::string(kStore[pick(5)]) + " " + key() + " " + std::to_string(pick(100)) +
               " 0 " + std::to_string(v.size()) + noreply() + "\r\n" + v + "\r\n";
        break;
      }
      case 3:
      case 4:
        out +=
            "get " + key() + (pick(2) ? " " + key() : "") + (pick(3) ? "" : " " + key()) + "\r\n";
        break;
      case 5:
        out += "gets " + key() + " " + key() + "\r\n";
        break;
      case 6:
        out += "delete " + key() + noreply() + "\r\n";
        break;
      case 7:
        out += std::string(pick(2) ? "incr" : "decr") + " " + (pick(2) ? "num" : key()) + " " +
               std::to_string(pick(50)) + noreply() + "\r\n";
        break;
      case 8:
        out += "touch " + key() + " 0" + noreply() + "\r\n";
        break;
      case 9:
        out += "mg " + key() + (pick(2) ? " v" : "") + (pick(2) ? " f s" : "") +
               (pick(3) ? "" : " q") + (pick(2) ? " k" : "") + "\r\n";
        break;
      case 10: {
        std::string v = value();
        out += "ms " + key() + " " + std::to_string(v.size()) + (pick(3) ? "" : " q") +
               (pick(2) ? " F" + std::to_string(pick(9)) : "") + "\r\n" + v + "\r\n";
        break;
      }
      case 11:
        out += "md " + key() + (pick(2) ? " q" : "") + "\r\n";
        break;
      case 12:
        out += "ma num" + std::string(pick(2) ? " N0 J5" : "") + (pick(2) ? " v" : "") +
               (pick(2) ? " MD" : "") + "\r\n";
        break;
      case 13:
        out += "gat 0 " + key() + " " + key() + "\r\n";
        break;
      case 14:
        out += "mn\r\n";
        break;
      case 15:
        out += pick(2) ? "bogus command\r\n" : "set " + key() + " 0 0 x\r\n";
        break;
    }
  }
  return out;
}

TEST_F(Differential, PipelinedBatchesOf100MixedCommands) {
  strip_number_padding = true;
  for (uint32_t seed = 1; seed <= 8; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    expect_same(mixed_batch(seed, 100));
  }
  expect_same("get k0 k1 k2 num k4 big\r\n");
}

TEST_F(Differential, PipelinedBatchInTinyWrites) {
  // The reference gets the batch in one write; the subject in pieces of 1..13
  // bytes (with TCP_NODELAY each piece leaves as its own segment, unless the
  // kernel merges them), so headers and values are split everywhere.
  strip_number_padding = true;
  std::mt19937 rng(7);
  subject_piece_size = [&rng] { return size_t{1} + rng() % 13; };
  expect_same(mixed_batch(99, 100) + "get k0 k1 k2 num k4 big\r\n", milliseconds(20000));
}

}  // namespace
}  // namespace mcguard::e2e
