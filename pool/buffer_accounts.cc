#include "pool/buffer_accounts.h"

#include <cassert>

namespace mcguard {

BufferAccounts::BufferAccounts(uint32_t buffer_count)
    : account_of_(std::make_unique<uint32_t[]>(buffer_count)),
      held_(std::make_unique<uint32_t[]>(buffer_count)),
      generation_(std::make_unique<uint32_t[]>(buffer_count)) {
  // An open account holds a buffer, so there are never more accounts than
  // buffers: one slot per buffer is enough and charging never runs out.
  for (uint32_t i = 0; i < buffer_count; ++i) {
    account_of_[i] = kNoAccount;
    held_[i] = i + 1 < buffer_count ? i + 1 : kNoAccount;
  }
  free_ = buffer_count > 0 ? 0 : kNoAccount;
}

void BufferAccounts::charge(Handle& handle, uint32_t buffer) {
  assert(account_of_[buffer] == kNoAccount);
  if (!is_open(handle)) {
    assert(free_ != kNoAccount);
    const uint32_t slot = free_;
    free_ = held_[slot];
    held_[slot] = 0;
    ++generation_[slot];  // odd: open
    ++open_;
    handle = {slot, generation_[slot]};
  }
  account_of_[buffer] = handle.slot;
  ++held_[handle.slot];
}

void BufferAccounts::uncharge(uint32_t buffer) {
  const uint32_t slot = account_of_[buffer];
  account_of_[buffer] = kNoAccount;
  assert(held_[slot] > 0);
  if (--held_[slot] > 0) return;
  // Its last buffer is back: the account closes and its slot is free again.
  ++generation_[slot];  // even: free
  held_[slot] = free_;
  free_ = slot;
  --open_;
}

}  // namespace mcguard
