#include "tests/bench/value_codec.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>

namespace mcguard::bench {
namespace {

constexpr std::array<uint32_t, 256> make_crc_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int bit = 0; bit < 8; ++bit) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}
constexpr std::array<uint32_t, 256> kCrcTable = make_crc_table();

// splitmix64's finaliser: every 8-byte word of the stream is a hash of its index, so any
// position can be produced without generating what comes before it.
uint64_t pattern_word(uint64_t word_index) {
  uint64_t z = word_index + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

constexpr char kHex[] = "0123456789abcdef";

// Writes "key|version|len|crc|" into out (sized by max_value_header) and returns its length.
size_t format_header(std::string_view key, uint64_t version, uint64_t len, char* out,
                     uint32_t* crc_out) {
  char* p = out;
  std::memcpy(p, key.data(), key.size());
  p += key.size();
  *p++ = '|';
  p = std::to_chars(p, p + 20, version).ptr;
  *p++ = '|';
  p = std::to_chars(p, p + 20, len).ptr;
  const uint32_t crc = crc32(std::string_view(out, static_cast<size_t>(p - out)));
  *p++ = '|';
  for (int shift = 28; shift >= 0; shift -= 4) *p++ = kHex[(crc >> shift) & 0xF];
  *p++ = '|';
  *crc_out = crc;
  return static_cast<size_t>(p - out);
}

bool parse_u64(std::string_view text, uint64_t* out) {
  if (text.empty() || text.size() > 20) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

bool parse_hex32(std::string_view text, uint32_t* out) {
  if (text.size() != 8) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out, 16);
  return ec == std::errc() && ptr == text.data() + text.size();
}

}  // namespace

uint32_t crc32(std::string_view bytes) {
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : bytes) c = kCrcTable[(c ^ b) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

char pattern_byte(uint64_t position) {
  return static_cast<char>(pattern_word(position / 8) >> (8 * (position % 8)));
}

ValuePattern::ValuePattern(size_t max_value_size) {
  // Room for the largest body at the largest offset, rounded up to whole words.
  const size_t words = (max_value_size + kOffsetRange) / 8 + 1;
  bytes_.resize(words * 8);
  for (size_t w = 0; w < words; ++w) {
    const uint64_t word = pattern_word(w);
    for (size_t b = 0; b < 8; ++b) bytes_[w * 8 + b] = static_cast<char>(word >> (8 * b));
  }
}

std::span<const char> ValuePattern::stream(uint64_t position, size_t len) const {
  if (position > bytes_.size() || len > bytes_.size() - position) return {};
  return {bytes_.data() + position, len};
}

EncodedValue ValuePattern::encode(std::string_view key, uint64_t version, size_t requested_len,
                                  std::span<char> header_out) const {
  EncodedValue v;
  if (header_out.size() < max_value_header(key.size())) return v;
  uint64_t len = requested_len;
  // The header holds the total length, whose digits change the header's own length: settle on
  // a length that covers the header (at most a couple of rounds).
  for (;;) {
    v.header_len = format_header(key, version, len, header_out.data(), &v.crc);
    if (v.header_len <= len) break;
    len = v.header_len;
  }
  v.body = stream(v.crc % kOffsetRange, len - v.header_len);
  if (v.body.size() != len - v.header_len) return EncodedValue{};
  v.total = len;
  return v;
}

std::string_view to_string(ValueCheck check) {
  switch (check) {
    case ValueCheck::kOk:
      return "ok";
    case ValueCheck::kMalformedHeader:
      return "malformed value header";
    case ValueCheck::kKeyMismatch:
      return "value belongs to another key";
    case ValueCheck::kLengthMismatch:
      return "value length differs from its header";
    case ValueCheck::kChecksumMismatch:
      return "value header checksum mismatch";
    case ValueCheck::kFlagsMismatch:
      return "item flags differ from the value's checksum";
    case ValueCheck::kBodyMismatch:
      return "value body corrupted";
  }
  return "unknown";
}

ValueVerifier::ValueVerifier(const ValuePattern& pattern, std::span<char> header_storage)
    : pattern_(&pattern), header_storage_(header_storage) {}

void ValueVerifier::begin(std::string_view expected_key, uint64_t total_len, uint32_t flags) {
  expected_key_ = expected_key;
  total_len_ = total_len;
  flags_ = flags;
  header_len_ = 0;
  header_done_ = false;
  body_start_ = 0;
  body_seen_ = 0;
  received_ = 0;
  mismatch_at_ = 0;
  result_ = ValueCheck::kOk;
}

void ValueVerifier::feed(std::span<const char> data) {
  received_ += data.size();
  if (result_ != ValueCheck::kOk) return;
  if (!header_done_) {
    // Gather the header: the expected key, '|', then three more '|'-terminated fields. Matching
    // the key as a prefix (rather than splitting on '|') keeps any key byte legal.
    const size_t key_part = expected_key_.size() + 1;
    size_t used = 0;
    while (used < data.size() && !header_done_) {
      if (header_len_ == header_storage_.size()) {
        result_ = ValueCheck::kMalformedHeader;
        mismatch_at_ = header_len_;
        return;
      }
      const char c = data[used++];
      header_storage_[header_len_++] = c;
      if (header_len_ <= key_part) {
        const char want = header_len_ == key_part ? '|' : expected_key_[header_len_ - 1];
        if (c != want) {
          result_ = ValueCheck::kKeyMismatch;
          mismatch_at_ = header_len_ - 1;
          return;
        }
      } else if (c == '|') {
        size_t pipes = 0;
        for (size_t i = key_part; i < header_len_; ++i) pipes += header_storage_[i] == '|';
        if (pipes == 3) parse_header();
      }
    }
    if (result_ != ValueCheck::kOk) return;
    data = data.subspan(used);
  }
  if (header_done_ && !data.empty()) compare_body(data);
}

void ValueVerifier::parse_header() {
  header_done_ = true;
  const std::string_view header(header_storage_.data(), header_len_);
  const std::string_view fields = header.substr(expected_key_.size() + 1);
  const size_t p1 = fields.find('|');
  const size_t p2 = fields.find('|', p1 + 1);
  const std::string_view version_text = fields.substr(0, p1);
  const std::string_view len_text = fields.substr(p1 + 1, p2 - p1 - 1);
  const std::string_view crc_text = fields.substr(p2 + 1, fields.size() - p2 - 2);
  uint64_t version = 0;
  uint64_t len = 0;
  uint32_t crc = 0;
  if (!parse_u64(version_text, &version) || !parse_u64(len_text, &len) ||
      !parse_hex32(crc_text, &crc)) {
    result_ = ValueCheck::kMalformedHeader;
    return;
  }
  // The crc covers "key|version|len", everything before the crc field's own '|'.
  const size_t covered = expected_key_.size() + 1 + p2;
  if (crc32(header.substr(0, covered)) != crc) {
    result_ = ValueCheck::kChecksumMismatch;
    return;
  }
  if (len != total_len_) {
    result_ = ValueCheck::kLengthMismatch;
    return;
  }
  if (flags_ != crc) {
    result_ = ValueCheck::kFlagsMismatch;
    return;
  }
  body_start_ = crc % ValuePattern::kOffsetRange;
}

void ValueVerifier::compare_body(std::span<const char> data) {
  const std::span<const char> held = pattern_->stream(body_start_ + body_seen_, data.size());
  if (!held.empty() && std::memcmp(held.data(), data.data(), data.size()) == 0) {
    body_seen_ += data.size();
    return;
  }
  for (size_t i = 0; i < data.size(); ++i) {
    if (data[i] != pattern_byte(body_start_ + body_seen_ + i)) {
      result_ = ValueCheck::kBodyMismatch;
      mismatch_at_ = header_len_ + body_seen_ + i;
      return;
    }
  }
  body_seen_ += data.size();
}

ValueCheck ValueVerifier::finish() {
  if (result_ != ValueCheck::kOk) return result_;
  if (!header_done_) {
    mismatch_at_ = header_len_;
    return ValueCheck::kMalformedHeader;
  }
  if (received_ != total_len_) return ValueCheck::kLengthMismatch;
  return ValueCheck::kOk;
}

ValueCheck verify_value(const ValuePattern& pattern, std::string_view expected_key,
                        std::string_view value, uint32_t flags) {
  std::vector<char> storage(max_value_header(expected_key.size()));
  ValueVerifier verifier(pattern, storage);
  verifier.begin(expected_key, value.size(), flags);
  verifier.feed(value);
  return verifier.finish();
}

}  // namespace mcguard::bench
