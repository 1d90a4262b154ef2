// Randomized model test: several chains with different caps share one small
// pool (so it runs dry), and bytes move between them by splice_from, moves and
// swaps. Every step is checked against plain strings, and the pool's count
// against the sum of what the chains say they hold.
#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "chain_support.h"
#include "pool/buffer_chain.h"

namespace mcguard {
namespace {

using test::contents;

constexpr uint32_t kSize = 8;

struct Model {
  std::string bytes;
  size_t reserved = 0;
  uint32_t max_buffers = 0;
};

size_t div_up(size_t a, size_t b) { return (a + b - 1) / b; }

std::vector<iovec> all_iovecs(const BufferChain& chain, size_t offset, size_t limit) {
  std::vector<iovec> out(64);
  out.resize(chain.iovecs(offset, limit, out.data(), out.size()));
  return out;
}

bool same(const std::vector<iovec>& a, const std::vector<iovec>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].iov_base != b[i].iov_base || a[i].iov_len != b[i].iov_len) return false;
  }
  return true;
}

// Where the content starts inside its first buffer, read off the slab address.
size_t head_offset(const BufferChain& chain, const BufferPool& pool) {
  if (chain.empty()) return 0;
  iovec first;
  chain.iovecs(0, 1, &first, 1);
  return static_cast<size_t>(static_cast<const char*>(first.iov_base) - pool.data(0)) % kSize;
}

void check(const BufferChain& chain, const Model& model, const BufferPool& pool,
           std::mt19937& rng) {
  ASSERT_EQ(chain.length(), model.bytes.size());
  ASSERT_EQ(chain.empty(), model.bytes.empty());
  ASSERT_EQ(chain.reserved(), model.reserved);
  ASSERT_EQ(chain.max_buffers(), model.max_buffers);
  ASSERT_LE(chain.buffer_count(), chain.max_buffers());
  // No more buffers than content and reservation need, none when both are empty.
  ASSERT_LE(chain.reserved(), chain.spare());
  ASSERT_LT(chain.spare(), chain.reserved() + kSize);
  if (model.bytes.empty() && model.reserved == 0) {
    ASSERT_EQ(chain.buffer_count(), 0u);
  }
  ASSERT_EQ(size_t{chain.buffer_count()} * kSize,
            head_offset(chain, pool) + model.bytes.size() + chain.spare());
  ASSERT_EQ(contents(chain), model.bytes);

  const size_t offset = rng() % (model.bytes.size() + 1);
  const size_t limit = rng() % (model.bytes.size() + 3);
  const size_t max_iov = rng() % 6;
  iovec iov[8];
  const size_t n = chain.iovecs(offset, limit, iov, max_iov);
  ASSERT_LE(n, max_iov);
  std::string got;
  for (size_t i = 0; i < n; ++i) {
    ASSERT_GT(iov[i].iov_len, 0u);
    got.append(static_cast<const char*>(iov[i].iov_base), iov[i].iov_len);
  }
  const std::string want = model.bytes.substr(std::min(offset, model.bytes.size()), limit);
  if (n < max_iov) {
    ASSERT_EQ(got, want);
  } else {
    ASSERT_EQ(got, want.substr(0, got.size()));
  }
}

class SharedPoolModel {
 public:
  explicit SharedPoolModel(uint32_t seed) : rng_(seed), pool_(kPoolBuffers, kSize) {
    for (uint32_t max : {3u, 6u, 10u, 20u}) {
      chains_.emplace_back(pool_, max);
      models_.push_back(Model{"", 0, max});
    }
  }

  void step() {
    const size_t i = rng_() % chains_.size();
    const size_t j = (i + 1 + rng_() % (chains_.size() - 1)) % chains_.size();
    switch (rng_() % 13) {
      case 0:
      case 1:
        append(i);
        break;
      case 2:
      case 3:
        reserve_and_fill(i);
        break;
      case 4:
      case 5: {
        const size_t n = rng_() % (models_[i].bytes.size() + 1);
        chains_[i].consume(n);
        models_[i].bytes.erase(0, n);
        break;
      }
      case 6:
        chains_[i].consume(models_[i].bytes.size());
        models_[i].bytes.clear();
        break;
      case 7:
        if (rng_() % 4 == 0) {
          chains_[i].release();
          models_[i].bytes.clear();
          models_[i].reserved = 0;
        }
        break;
      case 8:
      case 9:
      case 10:
        splice(i, j);
        break;
      case 11:
        if (rng_() % 2 == 0) {
          chains_[i].swap(chains_[j]);
          std::swap(models_[i], models_[j]);
        } else {
          chains_[i] = std::move(chains_[j]);
          models_[i] = std::exchange(models_[j], Model{"", 0, models_[j].max_buffers});
        }
        break;
      case 12: {
        BufferChain moved(std::move(chains_[i]));
        ASSERT_TRUE(chains_[i].empty());
        ASSERT_EQ(chains_[i].buffer_count(), 0u);
        chains_[i] = std::move(moved);
        break;
      }
    }
    uint32_t held = 0;
    for (size_t k = 0; k < chains_.size(); ++k) {
      SCOPED_TRACE(k);
      check(chains_[k], models_[k], pool_, rng_);
      held += chains_[k].buffer_count();
    }
    ASSERT_EQ(pool_.in_use(), held);
  }

  void finish() {
    for (BufferChain& chain : chains_) chain.release();
    EXPECT_EQ(pool_.in_use(), 0u);
  }

  uint64_t relinks() const { return relinks_; }
  uint64_t copies() const { return copies_; }
  uint64_t refusals() const { return refusals_; }

 private:
  static constexpr uint32_t kPoolBuffers = 28;

  std::string bytes(size_t n) {
    std::string s(n, '\0');
    for (char& c : s) c = next_ = static_cast<char>(next_ == 'z' ? 'a' : next_ + 1);
    return s;
  }

  void append(size_t i) {
    BufferChain& chain = chains_[i];
    const std::string s = bytes(rng_() % (3 * kSize + 1));
    const size_t copied = chain.append(std::span<const char>(s.data(), s.size()));
    ASSERT_LE(copied, s.size());
    if (copied < s.size()) {  // short only when the chain or the pool is full
      ASSERT_EQ(chain.spare(), 0u);
      ASSERT_TRUE(chain.buffer_count() == chain.max_buffers() || pool_.available() == 0);
    }
    models_[i].bytes += s.substr(0, copied);
    models_[i].reserved -= std::min(models_[i].reserved, copied);
  }

  void reserve_and_fill(size_t i) {
    BufferChain& chain = chains_[i];
    const size_t want = rng_() % (4 * kSize + 1);
    const uint32_t count = chain.buffer_count();
    const size_t spare = chain.spare();
    const uint32_t available = pool_.available();
    const uint64_t failures = pool_.failed_acquires();
    if (!chain.reserve(want)) {
      ASSERT_GT(want, spare);
      const size_t needed = div_up(want - spare, kSize);
      const bool over_cap = needed > chain.max_buffers() - count;
      ASSERT_TRUE(over_cap || needed > available);
      ASSERT_EQ(pool_.failed_acquires(), failures + (over_cap ? 0 : 1));
      ASSERT_EQ(chain.buffer_count(), count);
      ASSERT_EQ(pool_.available(), available);
      return;
    }
    ASSERT_EQ(pool_.available(), available - (chain.buffer_count() - count));
    models_[i].reserved = std::max(models_[i].reserved, want);
    const size_t fill = rng_() % (want + 1);
    iovec iov[8];
    const size_t n = chain.writable_iovecs(iov, 1 + rng_() % 8, fill);
    const std::string s = bytes(fill);
    size_t written = 0;
    for (size_t k = 0; k < n; ++k) {
      s.copy(static_cast<char*>(iov[k].iov_base), iov[k].iov_len, written);
      written += iov[k].iov_len;
    }
    ASSERT_LE(written, fill);
    chain.commit(written);
    models_[i].bytes += s.substr(0, written);
    models_[i].reserved -= std::min(models_[i].reserved, written);
  }

  void splice(size_t i, size_t j) {
    BufferChain& to = chains_[i];
    BufferChain& from = chains_[j];
    const size_t to_length = to.length(), from_length = from.length();
    const size_t to_offset = head_offset(to, pool_), from_offset = head_offset(from, pool_);
    const std::vector<iovec> to_before = all_iovecs(to, 0, SIZE_MAX);
    const std::vector<iovec> from_before = all_iovecs(from, 0, SIZE_MAX);
    const uint32_t to_count = to.buffer_count(), from_count = from.buffer_count();
    const uint32_t in_use = pool_.in_use();
    const uint64_t failures = pool_.failed_acquires();

    // The layout the result must have, worked out from the outside.
    const bool relink =
        to_length == 0 || ((to_offset + to_length) % kSize == 0 && from_offset == 0);
    const size_t end = (to_length == 0 ? from_offset : to_offset) + to_length + from_length;
    const size_t content = div_up(end, kSize);
    const size_t free = content * kSize - end;
    const size_t reserved = models_[i].reserved;
    const size_t spare_buffers = reserved > free ? div_up(reserved - free, kSize) : 0;
    const bool fits = from_length == 0 || content + spare_buffers <= to.max_buffers();

    const bool ok = to.splice_from(from);
    ASSERT_EQ(ok, fits);
    ASSERT_EQ(pool_.failed_acquires(), failures);  // never asks the pool
    if (!ok) {
      ++refusals_;
      ASSERT_TRUE(same(all_iovecs(to, 0, SIZE_MAX), to_before));
      ASSERT_TRUE(same(all_iovecs(from, 0, SIZE_MAX), from_before));
      ASSERT_EQ(to.buffer_count(), to_count);
      ASSERT_EQ(from.buffer_count(), from_count);
      ASSERT_EQ(pool_.in_use(), in_use);
      return;
    }
    ASSERT_LE(pool_.in_use(), in_use);
    ASSERT_EQ(from.buffer_count(), 0u);
    if (from_length > 0) {
      ASSERT_EQ(to.buffer_count(), content + spare_buffers);
      // Our own bytes never move.
      ASSERT_TRUE(same(all_iovecs(to, 0, to_length), to_before));
      if (relink) {
        ++relinks_;
        ASSERT_TRUE(same(all_iovecs(to, to_length, SIZE_MAX), from_before));
      } else {
        ++copies_;
      }
    }
    models_[i].bytes += models_[j].bytes;
    models_[j].bytes.clear();
    models_[j].reserved = 0;
  }

  std::mt19937 rng_;
  BufferPool pool_;
  std::vector<BufferChain> chains_;
  std::vector<Model> models_;
  char next_ = 'a';
  uint64_t relinks_ = 0, copies_ = 0, refusals_ = 0;
};

TEST(BufferChainModelTest, ChainsSharingAPoolMatchStringModels) {
  uint64_t relinks = 0, copies = 0, refusals = 0;
  for (uint32_t seed = 1; seed <= 8; ++seed) {
    SCOPED_TRACE(seed);
    SharedPoolModel model(seed);
    for (int step = 0; step < 3000; ++step) {
      model.step();
      if (testing::Test::HasFatalFailure()) return;
    }
    model.finish();
    relinks += model.relinks();
    copies += model.copies();
    refusals += model.refusals();
  }
  // The interesting paths were all taken, not just the easy ones.
  EXPECT_GT(relinks, 100u);
  EXPECT_GT(copies, 100u);
  EXPECT_GT(refusals, 10u);
  std::printf("splices: %llu relinked, %llu copied, %llu refused\n",
              static_cast<unsigned long long>(relinks), static_cast<unsigned long long>(copies),
              static_cast<unsigned long long>(refusals));
}

}  // namespace
}  // namespace mcguard
