// BufferAccounts, alone and through the pool and its chains: a buffer stays
// counted against the account it was charged to until it goes back to the
// pool, whichever chain holds it meanwhile.
#include "pool/buffer_accounts.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "pool/buffer_chain.h"
#include "pool/buffer_pool.h"

namespace mcguard {
namespace {

using Handle = BufferAccounts::Handle;

std::string bytes_of(size_t n, char seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + i % 23);
  return s;
}

TEST(BufferAccountsTest, ADefaultHandleHoldsNothing) {
  BufferAccounts accounts(4);
  EXPECT_EQ(accounts.held(Handle{}), 0u);
  EXPECT_EQ(accounts.open_accounts(), 0u);
}

TEST(BufferAccountsTest, CountsUntilTheLastBufferComesBackThenCloses) {
  BufferAccounts accounts(4);
  Handle handle;
  accounts.charge(handle, 2);
  accounts.charge(handle, 0);
  EXPECT_EQ(accounts.held(handle), 2u);
  EXPECT_TRUE(accounts.charged(2));
  EXPECT_FALSE(accounts.charged(1));
  EXPECT_EQ(accounts.open_accounts(), 1u);
  accounts.released(1);  // never charged: nobody's
  EXPECT_EQ(accounts.held(handle), 2u);
  accounts.released(2);
  EXPECT_EQ(accounts.held(handle), 1u);
  EXPECT_FALSE(accounts.charged(2));
  accounts.released(0);
  EXPECT_EQ(accounts.held(handle), 0u);
  EXPECT_EQ(accounts.open_accounts(), 0u);
}

TEST(BufferAccountsTest, AClosedAccountsHandleNeverReadsAnotherHoldersCount) {
  BufferAccounts accounts(2);
  Handle first;
  accounts.charge(first, 0);
  accounts.released(0);
  // The freed slot goes to the next account; the old handle must not see it.
  Handle second;
  accounts.charge(second, 1);
  EXPECT_EQ(second.slot, first.slot);
  EXPECT_EQ(accounts.held(first), 0u);
  EXPECT_EQ(accounts.held(second), 1u);
  // Charging through the stale handle opens a new account of its own.
  accounts.charge(first, 0);
  EXPECT_NE(first.slot, second.slot);
  EXPECT_EQ(accounts.held(first), 1u);
  EXPECT_EQ(accounts.held(second), 1u);
  EXPECT_EQ(accounts.open_accounts(), 2u);
}

TEST(BufferAccountsTest, EveryBufferMayHaveAnAccountOfItsOwn) {
  constexpr uint32_t kCount = 64;
  BufferAccounts accounts(kCount);
  std::vector<Handle> handles(kCount);
  for (uint32_t i = 0; i < kCount; ++i) accounts.charge(handles[i], i);
  EXPECT_EQ(accounts.open_accounts(), kCount);
  for (uint32_t i = 0; i < kCount; ++i) EXPECT_EQ(accounts.held(handles[i]), 1u);
  for (uint32_t i = 0; i < kCount; i += 2) accounts.released(i);
  EXPECT_EQ(accounts.open_accounts(), kCount / 2);
  for (uint32_t i = 0; i < kCount; i += 2) accounts.charge(handles[i], i);
  EXPECT_EQ(accounts.open_accounts(), kCount);
}

TEST(BufferAccountsTest, MatchesAModelUnderRandomChargesAndReleases) {
  constexpr uint32_t kCount = 48;
  constexpr int kHolders = 7;
  BufferAccounts accounts(kCount);
  std::vector<Handle> handles(kHolders);
  std::map<uint32_t, int> owner;  // charged buffer -> holder
  std::mt19937 random(1234);
  for (int step = 0; step < 20000; ++step) {
    const uint32_t buffer = random() % kCount;
    if (owner.count(buffer) != 0) {
      accounts.released(buffer);
      owner.erase(buffer);
    } else {
      const int holder = static_cast<int>(random() % kHolders);
      accounts.charge(handles[holder], buffer);
      owner[buffer] = holder;
    }
    std::vector<uint32_t> expected(kHolders, 0);
    for (const auto& [b, h] : owner) ++expected[h];
    uint32_t open = 0;
    for (int h = 0; h < kHolders; ++h) {
      ASSERT_EQ(accounts.held(handles[h]), expected[h]) << "step " << step << " holder " << h;
      open += expected[h] > 0 ? 1 : 0;
    }
    ASSERT_EQ(accounts.open_accounts(), open);
  }
}

// Through the pool: BufferChain::charge, and the chains' own moves.

TEST(BufferAccountsTest, AChargedChainCountsItsWholeReservation) {
  BufferPool pool(16, 64);
  BufferChain chain(pool, 16);
  ASSERT_TRUE(chain.reserve(200));  // four buffers
  Handle handle;
  EXPECT_EQ(chain.charge(handle), 4u);
  EXPECT_EQ(chain.charge(handle), 4u);  // charging again changes nothing
  chain.append(bytes_of(100, 'a'));
  EXPECT_EQ(pool.accounts().held(handle), 4u);
  chain.consume(64);  // the first buffer goes back
  EXPECT_EQ(pool.accounts().held(handle), 3u);
  chain.release();
  EXPECT_EQ(pool.accounts().held(handle), 0u);
  EXPECT_EQ(pool.accounts().open_accounts(), 0u);
}

TEST(BufferAccountsTest, BuffersStayChargedAfterMovingToAnotherChain) {
  BufferPool pool(32, 64);
  BufferChain value(pool, 16);
  ASSERT_TRUE(value.reserve(256));
  value.append(bytes_of(256, 'v'));
  Handle client;
  ASSERT_EQ(value.charge(client), 4u);

  // A piece moved off the front by relinking is still the client's.
  BufferChain piece(pool, 16);
  ASSERT_TRUE(value.split_front(128, piece));
  EXPECT_EQ(pool.accounts().held(client), 4u);

  // A send queue with its own bytes takes both by splicing.
  BufferChain queue(pool, 32);
  queue.append(bytes_of(10, 'h'));  // a request line: not packed on a boundary
  ASSERT_TRUE(queue.splice_from(piece));
  ASSERT_TRUE(queue.splice_from(value));
  EXPECT_TRUE(value.empty());
  // Packed behind the queue's 10 bytes, the 256 still span all four of the
  // client's buffers (266 bytes in five): none came back yet.
  EXPECT_EQ(pool.accounts().held(client), 4u);
  EXPECT_EQ(queue.length(), 10u + 256u);

  // Sent bit by bit: the count falls as the buffers go back, to nothing.
  uint32_t last = pool.accounts().held(client);
  while (!queue.empty()) {
    queue.consume(std::min<size_t>(queue.length(), 40));
    const uint32_t now = pool.accounts().held(client);
    EXPECT_LE(now, last);
    last = now;
  }
  EXPECT_EQ(pool.accounts().held(client), 0u);
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST(BufferAccountsTest, AnotherHoldersBuffersAreNotChargedAgain) {
  BufferPool pool(16, 64);
  BufferChain first(pool, 8), second(pool, 8);
  first.append(bytes_of(128, 'a'));
  second.append(bytes_of(128, 'b'));
  Handle a, b;
  ASSERT_EQ(first.charge(a), 2u);
  ASSERT_TRUE(first.splice_from(second));  // relinked: b's buffers join a's chain
  EXPECT_EQ(first.charge(a), 4u);          // a's count now covers them too...
  ASSERT_EQ(second.charge(b), 0u);         // ...and b, holding nothing, has none
  BufferChain third(pool, 8);
  third.append(bytes_of(64, 'c'));
  ASSERT_EQ(third.charge(b), 1u);
  ASSERT_TRUE(first.splice_from(third));
  EXPECT_EQ(first.charge(a), 4u);  // b's buffer stays b's
  EXPECT_EQ(pool.accounts().held(b), 1u);
  first.release();
  EXPECT_EQ(pool.accounts().open_accounts(), 0u);
}

}  // namespace
}  // namespace mcguard
