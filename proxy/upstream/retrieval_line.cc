// UpstreamConnection's retrieval lines: the get-family keys of a turn's
// requests, from any client, gathered into as few lines as memcached's rules
// allow. The line's reply is read as one kRetrieval batch: VALUE lines in the
// order of the keys, then END, so every key finds its slot as it did on a line
// of its own.
#include <charconv>

#include "proxy/upstream/upstream_connection.h"

namespace mcguard {
namespace {

// memcached closes a connection whose unfinished line passes 2048 bytes
// unless the line is a get or gets: a line kept within that is always safe.
constexpr uint32_t kMaxLineBytes = 2048;
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
                                             PendingReply* slot) {
  const size_t grown = line_.bytes + 1 + key.size() + kCrlf.size();
  const bool joins = line_.tail != nullptr && line_.command == command &&
                     (!touches(command) || line_.exptime == exptime) && grown <= kMaxLineBytes;
  // gat's exptime as the number the parser read (a line taken in batches has
  // no whole line to copy it from); the upstream reads it the same way.
  char exptime_text[24];
  size_t exptime_length = 0;
  if (!joins && touches(command)) {
    exptime_length = static_cast<size_t>(
        std::to_chars(exptime_text, exptime_text + sizeof exptime_text, exptime).ptr -
        exptime_text);
  }
  const std::string_view verb = verb_of(command);
  // Room for every byte first, so that nothing is half queued on failure.
  const size_t opening =
      joins ? 0 : (line_.tail != nullptr ? kCrlf.size() : 0) + verb.size() + exptime_length;
  if (!out_.reserve(opening + 1 + key.size())) return false;
  slot->next_in_batch = nullptr;
  if (joins) {
    line_.tail->next_in_batch = slot;
    line_.tail = slot;
  } else {
    end_retrieval_line();
    append(verb);
    append({exptime_text, exptime_length});
    expect(Expectation::kRetrieval, command, slot);
    line_ =
        RetrievalLine{slot, command, exptime, static_cast<uint32_t>(verb.size() + exptime_length)};
  }
  line_.bytes += static_cast<uint32_t>(1 + key.size());
  append(" ");
  append(key);
  return true;
}

bool UpstreamConnection::end_retrieval_line() {
  if (line_.tail == nullptr) return true;
  line_ = RetrievalLine{};
  return append(kCrlf);
}

}  // namespace mcguard
