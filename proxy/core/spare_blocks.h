// SpareBlocks: fixed-size byte blocks that one worker's connections borrow
// only while they need them (an unfinished request line waiting without a
// pool buffer), so an idle connection carries none. A block given back is
// kept for the next borrower: after the first few, taking one allocates
// nothing. What is kept is bounded by the most blocks ever out at once.
// Not thread-safe (one worker's).
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

namespace mcguard {

class SpareBlocks {
 public:
  explicit SpareBlocks(size_t block_bytes) : block_bytes_(block_bytes) {}

  // A block of block_bytes(), its contents unspecified.
  std::unique_ptr<char[]> take() {
    if (spare_.empty()) return std::make_unique_for_overwrite<char[]>(block_bytes_);
    std::unique_ptr<char[]> block = std::move(spare_.back());
    spare_.pop_back();
    return block;
  }
  void give_back(std::unique_ptr<char[]> block) {
    if (block) spare_.push_back(std::move(block));
  }

  size_t block_bytes() const { return block_bytes_; }
  size_t spare() const { return spare_.size(); }

 private:
  size_t block_bytes_;
  std::vector<std::unique_ptr<char[]>> spare_;
};

}  // namespace mcguard
