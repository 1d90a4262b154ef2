// BufferAccounts: who a pool's buffers are charged to. A holder charges the
// buffers it took to its account; each stays counted there until it goes back
// to the pool, however many chains it moved through meanwhile, so a holder
// knows what its bytes still pin after handing them on. An account exists
// only while it holds a buffer: when the last one comes back it closes, and
// the holder's handle then reads 0, so a holder that went away leaves nothing
// to clean up. Fixed memory (three words per buffer), O(1) everything, no heap
// after construction. Not thread-safe: it belongs to one BufferPool.
#pragma once

#include <cstdint>
#include <memory>

namespace mcguard {

class BufferAccounts {
 public:
  static constexpr uint32_t kNoAccount = UINT32_MAX;

  // What a holder keeps to name its account: valid while the account is open.
  // The default handle names no account.
  struct Handle {
    uint32_t slot = kNoAccount;
    uint32_t generation = 0;
  };

  explicit BufferAccounts(uint32_t buffer_count);

  // Charges `buffer` (held, charged to no account) to the account `handle`
  // names, opening one (and updating the handle) when it names none open.
  void charge(Handle& handle, uint32_t buffer);
  // Buffers charged to the account `handle` names that are not back yet.
  uint32_t held(Handle handle) const { return is_open(handle) ? held_[handle.slot] : 0; }
  bool charged(uint32_t buffer) const { return account_of_[buffer] != kNoAccount; }
  // `buffer` went back to the pool: it no longer counts against its account.
  void released(uint32_t buffer) {
    if (account_of_[buffer] != kNoAccount) uncharge(buffer);
  }
  // Accounts open now (each holds at least one buffer).
  uint32_t open_accounts() const { return open_; }

 private:
  bool is_open(Handle handle) const {
    return handle.slot != kNoAccount && generation_[handle.slot] == handle.generation;
  }
  void uncharge(uint32_t buffer);

  // Per buffer: the account slot it is charged to.
  std::unique_ptr<uint32_t[]> account_of_;
  // Per account slot: buffers held while open; the next free slot while free.
  std::unique_ptr<uint32_t[]> held_;
  // Per account slot: bumped when it closes, so old handles stop matching.
  // Open slots have odd generations, free ones even: a default handle
  // (generation 0) never matches.
  std::unique_ptr<uint32_t[]> generation_;
  uint32_t free_ = kNoAccount;  // first free slot
  uint32_t open_ = 0;
};

}  // namespace mcguard
