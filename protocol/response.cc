#include "protocol/response.h"

#include <charconv>
#include <cstring>

#include "protocol/base64.h"
#include "protocol/parser.h"

namespace mcguard {

static_assert(kMaxKeyLength == 250, "the kMax*LineLength bounds assume 250-byte keys");

ReplyFormatter& ReplyFormatter::number(uint64_t value) { return digits(value); }

ReplyFormatter& ReplyFormatter::signed_number(int64_t value) { return digits(value); }

ReplyFormatter& ReplyFormatter::flag(char name) {
  const char bytes[2] = {' ', name};
  return text(std::string_view(bytes, 2));
}

ReplyFormatter& ReplyFormatter::flag_number(char name, uint64_t value) {
  char bytes[2 + 20] = {' ', name};
  const auto [end, ec] = std::to_chars(bytes + 2, bytes + sizeof(bytes), value);
  (void)ec;
  return text(std::string_view(bytes, end - bytes));
}

ReplyFormatter& ReplyFormatter::flag_signed(char name, int64_t value) {
  char bytes[2 + 20] = {' ', name};
  const auto [end, ec] = std::to_chars(bytes + 2, bytes + sizeof(bytes), value);
  (void)ec;
  return text(std::string_view(bytes, end - bytes));
}

ReplyFormatter& ReplyFormatter::flag_token(char name, std::string_view token) {
  // One append for the whole flag, so an overflow never leaves half of it.
  if (overflowed_) return *this;
  if (token.size() + 2 > buffer_.size() - size_) {
    overflowed_ = true;
    return *this;
  }
  buffer_[size_] = ' ';
  buffer_[size_ + 1] = name;
  std::memcpy(buffer_.data() + size_ + 2, token.data(), token.size());
  size_ += token.size() + 2;
  return *this;
}

ReplyFormatter& ReplyFormatter::base64(std::string_view binary) {
  if (overflowed_) return *this;
  const size_t encoded = base64_encoded_length(binary.size());
  if (encoded > buffer_.size() - size_) {
    overflowed_ = true;
    return *this;
  }
  base64_encode(binary, buffer_.subspan(size_, encoded));
  size_ += encoded;
  return *this;
}

std::span<char> ReplyFormatter::claim(size_t length) {
  if (overflowed_) return {};
  if (length > buffer_.size() - size_) {
    overflowed_ = true;
    return {};
  }
  const std::span<char> claimed = buffer_.subspan(size_, length);
  size_ += length;
  return claimed;
}

ReplyFormatter& ReplyFormatter::value_line(std::string_view key, uint32_t flags, uint64_t bytes) {
  return text("VALUE ").text(key).text(" ").number(flags).text(" ").number(bytes).crlf();
}

ReplyFormatter& ReplyFormatter::value_line(std::string_view key, uint32_t flags, uint64_t bytes,
                                           uint64_t cas) {
  text("VALUE ").text(key).text(" ").number(flags).text(" ").number(bytes);
  return text(" ").number(cas).crlf();
}

ReplyFormatter& ReplyFormatter::flag_base64_key(std::string_view binary_key) {
  // One append for the whole flag, so an overflow never leaves half of it.
  if (overflowed_) return *this;
  if (base64_encoded_length(binary_key.size()) + 2 > buffer_.size() - size_) {
    overflowed_ = true;
    return *this;
  }
  return text(" k").base64(binary_key);
}

size_t write_value_line(std::span<char> out, std::string_view key, uint32_t flags, uint64_t bytes) {
  ReplyFormatter w(out);
  w.value_line(key, flags, bytes);
  return w.overflowed() ? 0 : w.size();
}

size_t write_value_line(std::span<char> out, std::string_view key, uint32_t flags, uint64_t bytes,
                        uint64_t cas) {
  ReplyFormatter w(out);
  w.value_line(key, flags, bytes, cas);
  return w.overflowed() ? 0 : w.size();
}

size_t write_number_line(std::span<char> out, uint64_t value) {
  ReplyFormatter w(out);
  w.number(value).crlf();
  return w.overflowed() ? 0 : w.size();
}

size_t write_server_error(std::span<char> out, std::string_view reason) {
  ReplyFormatter w(out);
  w.text(reply::kServerErrorPrefix).text(reason).crlf();
  return w.overflowed() ? 0 : w.size();
}

}  // namespace mcguard
