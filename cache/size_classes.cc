#include "cache/size_classes.h"

namespace mcguard {

unsigned size_class_of(const Item& item) {
  const unsigned order = BuddyAllocator::order_for(item_requested_bytes(item));
  // Items over the largest block are chunked; they share the last class, as
  // memcached's large items share its largest.
  return (order == BuddyAllocator::kNoOrder ? BuddyAllocator::kMaxOrder : order) + 1;
}

size_t item_requested_bytes(const Item& item) {
  const ItemLayout layout = plan_item(item.key_length, item.value_length);
  return layout.chunked ? layout.header_bytes + item.value_length : layout.header_bytes;
}

}  // namespace mcguard
