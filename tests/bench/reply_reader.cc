#include "tests/bench/reply_reader.h"

#include <algorithm>
#include <charconv>
#include <cstring>

namespace mcguard::bench {
namespace {

// Splits off the next space-separated token.
std::string_view next_token(std::string_view* rest) {
  const size_t start = rest->find_first_not_of(' ');
  if (start == std::string_view::npos) {
    *rest = {};
    return {};
  }
  const size_t end = rest->find(' ', start);
  const std::string_view token =
      rest->substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
  *rest = end == std::string_view::npos ? std::string_view{} : rest->substr(end);
  return token;
}

template <typename T>
bool to_number(std::string_view text, T* out) {
  if (text.empty()) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

// Replies memcached gives to some request: well-framed, so the stream stays in sync.
bool is_known_reply_line(std::string_view line) {
  return line == "STORED" || line == "NOT_STORED" || line == "EXISTS" || line == "NOT_FOUND" ||
         line == "END" || line == "ERROR" || line == "DELETED" || line == "TOUCHED" ||
         line.starts_with("SERVER_ERROR") || line.starts_with("CLIENT_ERROR");
}

Reply protocol_error(std::string_view line) {
  Reply r;
  r.kind = ReplyKind::kProtocolError;
  r.line = line;
  return r;
}

}  // namespace

ReplyReader::ReplyReader(std::span<char> line_storage, ValueVerifier* verifier)
    : line_storage_(line_storage), verifier_(verifier) {}

void ReplyReader::reset() {
  line_len_ = 0;
  state_ = State::kFirstLine;
  data_left_ = 0;
  value_bytes_ = 0;
  data_end_seen_ = 0;
  key_ok_ = true;
}

ReplyReader::LineStatus ReplyReader::take_line(std::span<const char>& in, std::string_view* line) {
  const auto* nl = static_cast<const char*>(std::memchr(in.data(), '\n', in.size()));
  const size_t take = nl == nullptr ? in.size() : static_cast<size_t>(nl - in.data()) + 1;
  if (nl != nullptr && line_len_ == 0) {
    // Common case: the whole line is in this read; borrow it.
    *line = std::string_view(in.data(), take);
    in = in.subspan(take);
  } else {
    if (take > line_storage_.size() - line_len_) {
      *line = "reply line too long";
      return LineStatus::kTooLong;
    }
    std::memcpy(line_storage_.data() + line_len_, in.data(), take);
    line_len_ += take;
    in = in.subspan(take);
    if (nl == nullptr) return LineStatus::kNeedMore;
    *line = std::string_view(line_storage_.data(), line_len_);
    line_len_ = 0;
  }
  // Lines end in "\r\n"; strip it, and keep a bare "\n" visible as a fault.
  line->remove_suffix(1);
  if (line->empty() || line->back() != '\r') {
    *line = "reply line not terminated by \\r\\n";
    return LineStatus::kTooLong;
  }
  line->remove_suffix(1);
  return LineStatus::kLine;
}

Reply ReplyReader::finish(Reply reply) {
  reset();
  return reply;
}

Reply ReplyReader::first_line(std::string_view line, const ReplyExpectation& expect) {
  Reply r;
  if (!expect.is_get) {
    if (line == "STORED") {
      r.kind = ReplyKind::kStored;
      return finish(r);
    }
  } else if (line == "END") {
    r.kind = ReplyKind::kMiss;
    return finish(r);
  } else if (line.starts_with("VALUE ")) {
    std::string_view rest = line.substr(6);
    const std::string_view key = next_token(&rest);
    uint32_t flags = 0;
    uint64_t bytes = 0;
    if (key.empty() || !to_number(next_token(&rest), &flags) ||
        !to_number(next_token(&rest), &bytes)) {
      return finish(protocol_error(line));
    }
    const std::string_view cas = next_token(&rest);
    uint64_t cas_value = 0;
    if ((!cas.empty() && !to_number(cas, &cas_value)) || !next_token(&rest).empty()) {
      return finish(protocol_error(line));
    }
    key_ok_ = key == expect.key;
    value_bytes_ = bytes;
    data_left_ = bytes;
    data_end_seen_ = 0;
    if (key_ok_ && verifier_ != nullptr) verifier_->begin(expect.key, bytes, flags);
    state_ = State::kData;
    return r;  // kIncomplete: data follows
  }
  if (is_known_reply_line(line)) {
    r.kind = ReplyKind::kUnexpectedReply;
    r.line = line;
    return finish(r);
  }
  return finish(protocol_error(line));
}

Reply ReplyReader::feed(std::span<const char>& in, const ReplyExpectation& expect) {
  while (!in.empty()) {
    switch (state_) {
      case State::kFirstLine: {
        std::string_view line;
        const LineStatus status = take_line(in, &line);
        if (status == LineStatus::kNeedMore) return {};
        if (status == LineStatus::kTooLong) return finish(protocol_error(line));
        Reply r = first_line(line, expect);
        if (r.kind != ReplyKind::kIncomplete) return r;
        break;
      }
      case State::kData: {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(data_left_, in.size()));
        if (key_ok_ && verifier_ != nullptr) verifier_->feed(in.first(n));
        in = in.subspan(n);
        data_left_ -= n;
        if (data_left_ == 0) state_ = State::kDataEnd;
        break;
      }
      case State::kDataEnd: {
        const char want = data_end_seen_ == 0 ? '\r' : '\n';
        if (in.front() != want) return finish(protocol_error("value data not followed by \\r\\n"));
        in = in.subspan(1);
        if (++data_end_seen_ == 2) state_ = State::kEndLine;
        break;
      }
      case State::kEndLine: {
        std::string_view line;
        const LineStatus status = take_line(in, &line);
        if (status == LineStatus::kNeedMore) return {};
        if (status == LineStatus::kTooLong || line != "END") {
          return finish(protocol_error(status == LineStatus::kTooLong
                                           ? line
                                           : std::string_view("value not followed by END")));
        }
        Reply r;
        r.value_bytes = value_bytes_;
        r.kind = ReplyKind::kHit;
        if (!key_ok_) {
          r.kind = ReplyKind::kBadValue;
          r.check = ValueCheck::kKeyMismatch;
        } else if (verifier_ != nullptr) {
          r.check = verifier_->finish();
          if (r.check != ValueCheck::kOk) {
            r.kind = ReplyKind::kBadValue;
            r.mismatch_at = verifier_->mismatch_at();
          }
        }
        return finish(r);
      }
    }
  }
  // A zero-length value completes its data without consuming input.
  if (state_ == State::kData && data_left_ == 0) state_ = State::kDataEnd;
  return {};
}

}  // namespace mcguard::bench
