// EmbeddedTierAdapter: the shared, thread-safe EmbeddedTier seen through the
// per-worker Tier interface. It always accepts and answers at once.
#pragma once

#include "proxy/tier/embedded.h"
#include "proxy/tier/tier.h"

namespace mcguard {

class EmbeddedTierAdapter final : public Tier {
 public:
  explicit EmbeddedTierAdapter(EmbeddedTier& tier) : tier_(tier) {}
  bool can_accept(const Request&) override { return true; }
  void execute(const Request& request, std::span<const iovec> value, ReplyQueue& reply,
               BufferChain*) override {
    tier_.execute(request, value, reply);
  }
  void remove_stale(std::string_view key, const ReplyQueue&) override { tier_.unlink(key); }

 private:
  EmbeddedTier& tier_;
};

}  // namespace mcguard
