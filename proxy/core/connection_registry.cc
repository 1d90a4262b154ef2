#include "proxy/core/connection_registry.h"

namespace mcguard {

const char* connection_state_name(ConnectionState state) {
  switch (state) {
    case ConnectionState::kNewCommand:
      return "conn_new_cmd";
    case ConnectionState::kWaiting:
      return "conn_waiting";
    case ConnectionState::kRead:
      return "conn_read";
    case ConnectionState::kParseCommand:
      return "conn_parse_cmd";
    case ConnectionState::kReadValue:
      return "conn_nread";
    case ConnectionState::kSwallow:
      return "conn_swallow";
  }
  return "conn_waiting";
}

void ConnectionRegistry::add(ConnectionRecord* record) {
  std::lock_guard lock(mutex_);
  record->prev = tail_;
  record->next = nullptr;
  if (tail_ != nullptr) {
    tail_->next = record;
  } else {
    head_ = record;
  }
  tail_ = record;
}

void ConnectionRegistry::remove(ConnectionRecord* record) {
  std::lock_guard lock(mutex_);
  if (record->prev != nullptr) {
    record->prev->next = record->next;
  } else {
    head_ = record->next;
  }
  if (record->next != nullptr) {
    record->next->prev = record->prev;
  } else {
    tail_ = record->prev;
  }
  record->prev = record->next = nullptr;
}

void ConnectionRegistry::for_each(const std::function<void(const ConnectionRecord&)>& visit) const {
  std::lock_guard lock(mutex_);
  for (const ConnectionRecord* r = head_; r != nullptr; r = r->next) visit(*r);
}

}  // namespace mcguard
