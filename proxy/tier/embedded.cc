#include "proxy/tier/embedded.h"

#include "proxy/tier/executor.h"

namespace mcguard {

struct EmbeddedTier::Impl {
  explicit Impl(const EmbeddedConfig& config) : executor(config) {}
  Executor executor;
};

EmbeddedTier::EmbeddedTier(const EmbeddedConfig& config) : impl_(std::make_unique<Impl>(config)) {}

EmbeddedTier::~EmbeddedTier() = default;

void EmbeddedTier::execute(const Request& request, std::span<const iovec> value,
                           ReplyQueue& reply) {
  impl_->executor.execute(request, value, reply);
}

void EmbeddedTier::unlink(std::string_view key) { impl_->executor.unlink(key); }

EmbeddedStats EmbeddedTier::stats() const { return impl_->executor.stats(); }

}  // namespace mcguard
