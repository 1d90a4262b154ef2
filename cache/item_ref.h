// ItemRef: a counted reference to an item of the embedded store. While any
// ItemRef to an item exists, its memory stays valid even if the item is
// replaced, deleted or evicted, so a reply can send the value straight from
// store memory with writev. Move-only; the destructor drops the reference.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>

namespace mcguard {

struct Item;  // defined by the store (cache/item.h)

// Implemented by the store.
void item_release(Item* item);
size_t item_value_length(const Item* item);
size_t item_value_iovecs(const Item* item, size_t offset, iovec* out, size_t max_iov);
std::string_view item_key(const Item* item);
uint32_t item_client_flags(const Item* item);
uint64_t item_cas(const Item* item);

class ItemRef {
 public:
  ItemRef() = default;
  // Adopts one reference already counted on `item`.
  explicit ItemRef(Item* item) : item_(item) {}
  ItemRef(ItemRef&& other) noexcept : item_(std::exchange(other.item_, nullptr)) {}
  ItemRef& operator=(ItemRef&& other) noexcept {
    if (this != &other) {
      reset();
      item_ = std::exchange(other.item_, nullptr);
    }
    return *this;
  }
  ItemRef(const ItemRef&) = delete;
  ItemRef& operator=(const ItemRef&) = delete;
  ~ItemRef() { reset(); }

  void reset() {
    if (item_ != nullptr) item_release(std::exchange(item_, nullptr));
  }
  explicit operator bool() const { return item_ != nullptr; }
  Item* get() const { return item_; }

  size_t value_length() const { return item_value_length(item_); }
  // iovecs over value bytes from `offset` to the end; returns the count.
  size_t value_iovecs(size_t offset, iovec* out, size_t max_iov) const {
    return item_value_iovecs(item_, offset, out, max_iov);
  }
  std::string_view key() const { return item_key(item_); }
  uint32_t client_flags() const { return item_client_flags(item_); }
  uint64_t cas() const { return item_cas(item_); }

 private:
  Item* item_ = nullptr;
};

}  // namespace mcguard
