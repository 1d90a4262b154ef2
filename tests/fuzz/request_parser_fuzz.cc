// Fuzz target: parse_header over a request stream cut into arbitrary reads.
// Input: one schedule byte (see SplitSchedule), then the bytes a client sends.
// The stream is consumed as a connection would (header, then its data block or
// the bytes an error swallows) twice: in one read, and in the scheduled reads
// with the unparsed rest carried over. Both must give the same transcript, and
// every result must be self-consistent (borrowed views inside the input, a
// line ending at `consumed`, kNeedMore only without a complete line).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "fuzz_split.h"
#include "protocol/get_line.h"
#include "protocol/parser.h"

namespace mcguard::fuzz {
namespace {

bool inside(std::string_view part, std::span<const char> whole) {
  return part.empty() ||
         (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

// Appends one parse result to `transcript` after checking it against `input`.
void record(const ParseResult& result, const Request& request, std::span<const char> input,
            std::string& transcript) {
  switch (result.status) {
    case ParseResult::Status::kNeedMore:
      FUZZ_CHECK(std::memchr(input.data(), '\n', input.size()) == nullptr,
                 "kNeedMore with a complete line in %zu bytes", input.size());
      FUZZ_CHECK(input.size() <= kMaxLineLength || long_line_allowed(input.data(), input.size()),
                 "kNeedMore past the longest line");
      return;
    case ParseResult::Status::kRequest:
      FUZZ_CHECK(result.consumed > 0 && result.consumed <= input.size(), "consumed %zu of %zu",
                 result.consumed, input.size());
      FUZZ_CHECK(input[result.consumed - 1] == '\n', "the header does not end at consumed");
      FUZZ_CHECK(inside(request.line, input) && inside(request.key, input) &&
                     inside(request.keys, input) && inside(request.args, input),
                 "a view outside the input");
      FUZZ_CHECK(request.line.size() < result.consumed, "line longer than consumed");
      FUZZ_CHECK(
          request.key.size() <= kMaxKeyLength || request.command == Command::kMetaGet ||
              request.command == Command::kMetaSet || request.command == Command::kMetaDelete ||
              request.command == Command::kMetaArithmetic || request.command == Command::kMetaDebug,
          "a %zu-byte key accepted", request.key.size());
      transcript += "R" + std::to_string(static_cast<int>(request.command)) + " " +
                    std::to_string(result.consumed) + " " + std::string(request.key) + " " +
                    std::to_string(request.key_count) + " " + std::to_string(request.value_length) +
                    " " + (request.noreply ? "n" : "-") + "\n";
      return;
    case ParseResult::Status::kError:
      if (result.close) {
        FUZZ_CHECK(result.consumed == 0, "close with consumed %zu", result.consumed);
      } else {
        FUZZ_CHECK(result.consumed > 0 && result.consumed <= input.size(), "consumed %zu of %zu",
                   result.consumed, input.size());
        FUZZ_CHECK(input[result.consumed - 1] == '\n', "the error line does not end at consumed");
      }
      FUZZ_CHECK(result.reply.empty() || result.reply.ends_with("\r\n"), "reply without CRLF");
      transcript += "E" + std::to_string(result.consumed) + " " + std::string(result.reply) +
                    std::to_string(result.swallow) + (result.close ? " close" : "") + "\n";
      return;
  }
}

// Feeds `stream` in reads chosen by `schedule` and returns the transcript.
std::string run(std::string_view stream, SplitSchedule schedule) {
  std::string transcript;
  std::string buffer;  // received, not yet parsed
  uint64_t skip = 0;   // data-block or swallowed bytes still to drop
  size_t at = 0;
  bool closed = false;
  while (at < stream.size() && !closed) {
    const size_t n = schedule.next(stream.size() - at);
    std::string_view chunk = stream.substr(at, n);
    at += n;
    if (skip > 0) {
      const size_t dropped = skip < chunk.size() ? static_cast<size_t>(skip) : chunk.size();
      chunk.remove_prefix(dropped);
      skip -= dropped;
    }
    buffer.append(chunk);
    while (!buffer.empty() && skip == 0) {
      Request request;
      const ParseResult result = parse_header(buffer, request);
      record(result, request, buffer, transcript);
      if (result.status == ParseResult::Status::kNeedMore) break;
      if (result.close) {
        closed = true;
        break;
      }
      skip = result.status == ParseResult::Status::kRequest && request.has_value()
                 ? request.value_length + 2
                 : result.swallow;
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
