// UpstreamConnection's retrieval lines: the get-family keys of a turn's
// requests, from any client, gathered into as few lines as memcached's rules
// allow. A line's reply is read as one kRetrieval batch (VALUE lines in the
// order of the keys, then END), so every key finds its slot as it would on a
// line of its own.
//
// Requests of clients without a key in the open line are queued ahead of it:
// they were concurrent with its gets, so either order is one memcached could
// have seen. A client's own order is kept: its next request ends the line.
#include <algorithm>
#include <charconv>
#include <utility>

#include "proxy/upstream/upstream_connection.h"

namespace mcguard {
namespace {

constexpr std::string_view kCrlf = "\r\n";

std::string_view verb_of(Command command) {
  switch (command) {
    case Command::kGets:
      return "gets";
    case Command::kGat:
      return "gat ";
    case Command::kGats:
      return "gats ";
    default:
      return "get";
  }
}

bool touches(Command command) { return command == Command::kGat || command == Command::kGats; }

}  // namespace

bool UpstreamConnection::queue_retrieval_key(Command command, int64_t exptime, std::string_view key,
                                             PendingReply* slot, int client_id) {
  const int* clients = line_.clients;
  const int* clients_end = clients + line_.client_count;
  const bool known_client = std::find(clients, clients_end, client_id) != clients_end;
  const bool joins = line_.head != nullptr && line_.command == command &&
                     (!touches(command) || line_.exptime == exptime) &&
                     line_text_.size() + 1 + key.size() + kCrlf.size() <= kMaxLineBytes &&
                     (known_client || line_.client_count < kMaxLineClients);
  if (!joins) {
    if (!end_retrieval_line()) return false;
    line_text_ = verb_of(command);
    if (touches(command)) {
      // gat's exptime as the number the parser read (a line taken in batches
      // has no whole line to copy it from); the upstream reads it the same way.
      char exptime_text[24];
      const char* end =
          std::to_chars(exptime_text, exptime_text + sizeof exptime_text, exptime).ptr;
      line_text_.append(exptime_text, static_cast<size_t>(end - exptime_text));
    }
    line_.head = line_.tail = slot;
    line_.command = command;
    line_.exptime = exptime;
    line_.client_count = 0;
    // The line is queued at the latest by the flush that ends this turn, or
    // by the next one if this turn's has passed.
    context_.unflushed = true;
  } else {
    line_.tail->next_in_batch = slot;
    line_.tail = slot;
  }
  slot->next_in_batch = nullptr;
  if (!joins || !known_client) line_.clients[line_.client_count++] = client_id;
  line_text_ += ' ';
  line_text_ += key;
  return true;
}

bool UpstreamConnection::end_retrieval_line_of(int client_id) {
  const int* clients = line_.clients;
  const int* clients_end = clients + line_.client_count;
  if (line_.head == nullptr || std::find(clients, clients_end, client_id) == clients_end) {
    return true;
  }
  return end_retrieval_line();
}

bool UpstreamConnection::end_retrieval_line() {
  if (line_.head == nullptr) return true;
  if (!out_.reserve(line_text_.size() + kCrlf.size())) return false;
  out_.append({line_text_.data(), line_text_.size()});
  out_.append({kCrlf.data(), kCrlf.size()});
  expect(Expectation::kRetrieval, line_.command, line_.head);
  line_.head = line_.tail = nullptr;
  line_.client_count = 0;
  line_text_.clear();
  return true;
}

void UpstreamConnection::fail_open_line(const char* reason) {
  PendingReply* slot = std::exchange(line_.head, nullptr);
  line_.tail = nullptr;
  line_.client_count = 0;
  line_text_.clear();
  while (slot != nullptr) {
    PendingReply* next = slot->next_in_batch;
    context_.groups.fail(slot, reason);
    slot = next;
  }
}

}  // namespace mcguard
