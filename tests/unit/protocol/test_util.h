// Helpers shared by the protocol tests: expanding "{n*text}" repetitions in test
// inputs, and comparing two Requests parsed from different buffers.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <ostream>
#include <span>
#include <string>
#include <string_view>

#include "protocol/parser.h"
#include "protocol/request.h"

namespace mcguard {

inline std::ostream& operator<<(std::ostream& os, ParseResult::Status status) {
  switch (status) {
    case ParseResult::Status::kNeedMore:
      return os << "kNeedMore";
    case ParseResult::Status::kRequest:
      return os << "kRequest";
    case ParseResult::Status::kError:
      return os << "kError";
  }
  return os << "?";
}

}  // namespace mcguard

namespace mcguard::testing {

// Replaces each "{n*text}" with n copies of text ("{251*k}" is a 251-byte key).
inline std::string expand(std::string_view pattern) {
  std::string out;
  size_t i = 0;
  while (i < pattern.size()) {
    const size_t open = pattern.find('{', i);
    if (open == std::string_view::npos) break;
    const size_t star = pattern.find('*', open);
    const size_t close = pattern.find('}', star);
    out.append(pattern.substr(i, open - i));
    const size_t count = std::stoul(std::string(pattern.substr(open + 1, star - open - 1)));
    for (size_t n = 0; n < count; ++n) out.append(pattern.substr(star + 1, close - star - 1));
    i = close + 1;
  }
  out.append(pattern.substr(i));
  return out;
}

inline ParseResult parse(std::string_view bytes, Request& out) {
  return parse_header(std::span<const char>(bytes.data(), bytes.size()), out);
}

// Parses `line`, which must be one complete request (the Request borrows `line`).
inline Request request_of(std::string_view line) {
  Request r;
  const ParseResult result = parse(line, r);
  EXPECT_EQ(result.status, ParseResult::Status::kRequest) << line << " -> " << result.reply;
  EXPECT_EQ(result.consumed, line.size());
  return r;
}

// Parses `line`, which must be rejected; returns memcached's answer for it.
inline ParseResult error_of(std::string_view line) {
  Request r;
  const ParseResult result = parse(line, r);
  EXPECT_EQ(result.status, ParseResult::Status::kError) << line;
  return result;
}

// A borrowed view as (offset into its buffer, contents), so Requests parsed from two
// buffers holding the same bytes compare equal.
inline void expect_same_view(std::string_view a, const char* base_a, std::string_view b,
                             const char* base_b, const char* field) {
  SCOPED_TRACE(field);
  EXPECT_EQ(a, b);
  if (!a.empty() && !b.empty()) {
    EXPECT_EQ(a.data() - base_a, b.data() - base_b);
  }
}

inline void expect_same_request(const Request& a, const char* base_a, const Request& b,
                                const char* base_b) {
  EXPECT_EQ(a.command, b.command);
  expect_same_view(a.line, base_a, b.line, base_b, "line");
  expect_same_view(a.key, base_a, b.key, base_b, "key");
  expect_same_view(a.keys, base_a, b.keys, base_b, "keys");
  expect_same_view(a.args, base_a, b.args, base_b, "args");
  EXPECT_EQ(a.key_count, b.key_count);
  EXPECT_EQ(a.client_flags, b.client_flags);
  EXPECT_EQ(a.exptime, b.exptime);
  EXPECT_EQ(a.value_length, b.value_length);
  EXPECT_EQ(a.cas_unique, b.cas_unique);
  EXPECT_EQ(a.delta, b.delta);
  EXPECT_EQ(a.delay, b.delay);
  EXPECT_EQ(a.has_delay, b.has_delay);
  EXPECT_EQ(a.verbosity, b.verbosity);
  EXPECT_EQ(a.noreply, b.noreply);
  EXPECT_EQ(a.meta.present, b.meta.present);
  EXPECT_EQ(a.meta.vivify_ttl, b.meta.vivify_ttl);
  EXPECT_EQ(a.meta.recache_ttl, b.meta.recache_ttl);
  EXPECT_EQ(a.meta.initial, b.meta.initial);
  EXPECT_EQ(a.meta.mode, b.meta.mode);
  ASSERT_EQ(a.meta.count, b.meta.count);
  for (size_t i = 0; i < a.meta.count; ++i) {
    EXPECT_EQ(a.meta.flags[i].name, b.meta.flags[i].name);
    expect_same_view(a.meta.flags[i].token, base_a, b.meta.flags[i].token, base_b, "flag");
  }
}

inline void expect_same_result(const ParseResult& a, const ParseResult& b) {
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.consumed, b.consumed);
  EXPECT_EQ(a.reply, b.reply);
  EXPECT_EQ(a.swallow, b.swallow);
  EXPECT_EQ(a.close, b.close);
}

}  // namespace mcguard::testing
