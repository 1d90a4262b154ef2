// Differential testing: the same request bytes go to a fresh reference
// memcached and to the server under test, and the replies must match byte for
// byte, except for CAS unique values, which are compared by identity (the n-th
// distinct CAS a server reports becomes "<cas n>"), and `me` debug lines, whose
// content is implementation-defined and is only checked for its format.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "harness.h"

namespace mcguard::e2e {

enum class Side { kReference, kSubject };

// Length of the reply prefix that ends with the `markers`-th "MN\r\n" line, or
// 0 if it has not all arrived. Data blocks announced by "VALUE" and "VA" lines
// are skipped, so value bytes never count as reply lines.
size_t reply_length_through_markers(std::string_view reply, int markers);

// Number of meta no-op commands ("mn" lines) in `request`.
int count_noops(std::string_view request);

// Replaces CAS unique values with stable ordinals recorded in `seen` and `me`
// lines with a placeholder (appending a complaint to `format_errors` when an
// `me` line does not look like "ME <key> <name>=<value>..."). With
// `strip_number_padding`, a value of digits followed by spaces (what a decr
// that shortens a number leaves when done in place) is shown without the
// spaces, with the length adjusted.
std::string normalize_reply(std::string_view reply, std::map<std::string, int>& seen,
                            std::string* format_errors, bool strip_number_padding = false);

// Deterministic test bytes of length `n`: every byte value occurs, including
// "\r\n" sequences, so a server that scans values for line ends is caught.
std::string make_value(size_t n, uint32_t seed);

struct Replies {
  std::string subject_request;  // as sent, including the final "mn\r\n"
  ReadResult reference;
  ReadResult subject;
};

class DifferentialTest : public ::testing::Test {
 protected:
  void SetUp() override;

  // Options for the subject; fixtures override to test other limits.
  virtual McguardOptions subject_options() const { return {}; }

  // Sends `request` followed by "mn\r\n" to both servers and reads each reply
  // through the final "MN" (or until the server closes the connection). Adds a
  // test failure with both replies, escaped, when they differ after
  // normalization, when only one side closed, or when a side timed out.
  Replies expect_same(std::string_view request, milliseconds timeout = kReplyDeadline);
  // As above, with a request that may differ per side (e.g. each side's CAS).
  Replies expect_same(const std::function<std::string(Side)>& request,
                      milliseconds timeout = kReplyDeadline);
  // Sends and reads like expect_same, without comparing.
  Replies exchange(const std::function<std::string(Side)>& request,
                   milliseconds timeout = kReplyDeadline);

  // When set, exchanges send the subject's request in pieces of the sizes it
  // returns (one send call each) instead of in one write.
  std::function<size_t()> subject_piece_size;
  // memcached pads a decremented number with spaces when it rewrites the item
  // in place, but writes a new, shorter item when a reply still references the
  // old one: which of the two happens in a deep pipeline depends on timing, so
  // tests with such pipelines compare numbers without the padding.
  bool strip_number_padding = false;

  // The CAS unique the side reports for `key` (via gets); empty on a miss.
  std::string cas_of(Side side, std::string_view key);
  // Opens a new connection on both sides (after a close).
  void reconnect();

  Client& client(Side side) {
    return side == Side::kReference ? *reference_client_ : *subject_client_;
  }
  ServerProcess& server(Side side) { return side == Side::kReference ? *reference_ : *subject_; }

  std::unique_ptr<ServerProcess> reference_;
  std::unique_ptr<ServerProcess> subject_;
  std::optional<Client> reference_client_;
  std::optional<Client> subject_client_;
  std::map<std::string, int> reference_cas_;
  std::map<std::string, int> subject_cas_;
};

// The fixture of the Differential.* suite, shared by its test files (gtest
// requires one fixture class per suite).
class Differential : public DifferentialTest {};

}  // namespace mcguard::e2e
