// Fuzz target: parse_reply_header over an upstream's reply stream cut into
// arbitrary reads. Input: one schedule byte (see SplitSchedule), then the bytes a
// server sends. The stream is consumed as the upstream tier does (a line, then a
// VALUE/VA data block) in one read and in the scheduled reads; both must give
// the same transcript and stop at the same malformed line. Every accepted line
// must end in "\r\n" at `consumed`, borrow only from the input, announce at most
// the limit, and carry a key the tier could match.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "fuzz_split.h"
#include "protocol/reply_parser.h"

namespace mcguard::fuzz {
namespace {

constexpr uint64_t kMaxValue = 1u << 20;

bool inside(std::string_view part, std::span<const char> whole) {
  return part.empty() ||
         (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

void check_reply(const Reply& reply, size_t consumed, std::span<const char> input) {
  FUZZ_CHECK(consumed >= 2 && consumed <= input.size(), "consumed %zu of %zu", consumed,
             input.size());
  FUZZ_CHECK(input[consumed - 2] == '\r' && input[consumed - 1] == '\n',
             "a reply line not ended by CRLF");
  FUZZ_CHECK(reply.line.data() == input.data() && reply.line.size() == consumed - 2,
             "line is not the bytes before CRLF");
  FUZZ_CHECK(
      inside(reply.key, input) && inside(reply.text, input) && inside(reply.meta_flags, input),
      "a view outside the input");
  FUZZ_CHECK(!reply.has_value() || reply.value_length <= kMaxValue, "value over the limit");
  FUZZ_CHECK(reply.kind != ReplyKind::kValue || is_valid_reply_key(reply.key),
             "VALUE with a key the tier cannot match");
  FUZZ_CHECK(consumed - 2 <= kMaxReplyLineLength, "line over the limit");
  // Every command's view of this reply is defined.
  for (int c = static_cast<int>(Command::kNone); c <= static_cast<int>(Command::kMetaDebug); ++c) {
    const ReplyRole role = reply_role(static_cast<Command>(c), reply.kind);
    FUZZ_CHECK(
        role == ReplyRole::kUnexpected || role == ReplyRole::kPart || role == ReplyRole::kLast,
        "reply_role out of range");
  }
}

std::string run(std::string_view stream, SplitSchedule schedule) {
  std::string transcript;
  std::string buffer;
  uint64_t skip = 0;
  size_t at = 0;
  while (at < stream.size()) {
    const size_t n = schedule.next(stream.size() - at);
    std::string_view chunk = stream.substr(at, n);
    at += n;
    const size_t dropped = skip < chunk.size() ? static_cast<size_t>(skip) : chunk.size();
    chunk.remove_prefix(dropped);
    skip -= dropped;
    buffer.append(chunk);
    while (!buffer.empty() && skip == 0) {
      Reply reply;
      const ReplyParseResult result = parse_reply_header(buffer, reply, kMaxValue);
      if (result.status == ReplyParseResult::kNeedMore) {
        FUZZ_CHECK(
            buffer.find('\n') == std::string::npos || buffer.find('\n') > kMaxReplyLineLength,
            "kNeedMore with a complete line");
        FUZZ_CHECK(buffer.size() <= kMaxReplyLineLength, "kNeedMore past the longest line");
        break;
      }
      if (result.status == ReplyParseResult::kMalformed) {
        transcript += "malformed\n";
        return transcript;
      }
      check_reply(reply, result.consumed, buffer);
      transcript += std::to_string(static_cast<int>(reply.kind)) + " " +
                    std::to_string(result.consumed) + " " + std::to_string(reply.value_length) +
                    " " + std::to_string(reply.flags) + " " + std::to_string(reply.cas) + " " +
                    std::to_string(reply.number) + "\n";
      skip = reply.has_value() ? reply.value_length + 2 : 0;
      size_t drop = result.consumed;
      const size_t data = std::min<uint64_t>(skip, buffer.size() - drop);
      drop += data;
      skip -= data;
      buffer.erase(0, drop);
    }
  }
  return transcript;
}

}  // namespace
}  // namespace mcguard::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mcguard::fuzz;
  if (size == 0) return 0;
  const std::string_view stream(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::string whole = run(stream, SplitSchedule(0));
  const std::string split = run(stream, SplitSchedule(data[0]));
  FUZZ_CHECK(whole == split, "one read and split reads differ:\n--- whole\n%s--- split\n%s",
             whole.c_str(), split.c_str());
  return 0;
}
