#include "differential.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <regex>
#include <vector>

namespace mcguard::e2e {
namespace {

std::vector<std::string_view> split_tokens(std::string_view line) {
  std::vector<std::string_view> tokens;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ') ++i;
    if (i > start) tokens.push_back(line.substr(start, i - start));
  }
  return tokens;
}

std::optional<size_t> parse_size(std::string_view token) {
  size_t value = 0;
  auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), value);
  if (ec != std::errc() || end != token.data() + token.size()) return std::nullopt;
  return value;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// Length of the data block (excluding its "\r\n") announced by `line`, if any.
std::optional<size_t> data_block_length(std::string_view line) {
  auto tokens = split_tokens(line);
  if (tokens.size() >= 4 && tokens[0] == "VALUE") return parse_size(tokens[3]);
  if (tokens.size() >= 2 && tokens[0] == "VA") return parse_size(tokens[1]);
  return std::nullopt;
}

bool is_meta_status(std::string_view token) {
  static constexpr std::string_view kCodes[] = {"VA", "HD", "EN", "NF", "NS", "EX"};
  for (auto code : kCodes) {
    if (token == code) return true;
  }
  return false;
}

std::string cas_placeholder(std::string_view cas, std::map<std::string, int>& seen) {
  auto [it, inserted] = seen.emplace(std::string(cas), static_cast<int>(seen.size()) + 1);
  return "<cas " + std::to_string(it->second) + ">";
}

std::string normalize_line(std::string_view line, std::map<std::string, int>& seen,
                           std::string* format_errors) {
  auto tokens = split_tokens(line);
  if (tokens.empty()) return std::string(line);
  // "VALUE <key> <flags> <bytes> <cas>" from gets/gats.
  if (tokens[0] == "VALUE" && tokens.size() == 5 && parse_size(tokens[4])) {
    std::string out(line.substr(0, line.rfind(' ') + 1));
    return out + cas_placeholder(tokens[4], seen);
  }
  if (tokens[0] == "ME") {
    static const std::regex kDebugLine(R"(ME \S+( [a-z_]+=\S+)+)");
    if (!std::regex_match(line.begin(), line.end(), kDebugLine) && format_errors != nullptr) {
      *format_errors += "malformed me line: " + escape(line) + "\n";
    }
    return "ME <debug output>";
  }
  if (is_meta_status(tokens[0])) {
    std::string out;
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (i > 0) out += ' ';
      std::string_view t = tokens[i];
      if (i > 0 && t.size() > 1 && t[0] == 'c' && parse_size(t.substr(1))) {
        out += "c" + cas_placeholder(t.substr(1), seen);
      } else {
        out += t;
      }
    }
    return out;
  }
  return std::string(line);
}

}  // namespace

size_t reply_length_through_markers(std::string_view reply, int markers) {
  size_t pos = 0;
  int seen = 0;
  while (pos < reply.size()) {
    size_t eol = reply.find("\r\n", pos);
    if (eol == std::string_view::npos) return 0;
    std::string_view line = reply.substr(pos, eol - pos);
    pos = eol + 2;
    if (line == "MN" && ++seen == markers) return pos;
    if (auto data = data_block_length(line)) {
      if (reply.size() - pos < *data + 2) return 0;
      pos += *data + 2;
    }
  }
  return 0;
}

int count_noops(std::string_view request) {
  int count = 0;
  size_t pos = 0;
  while (pos < request.size()) {
    size_t eol = request.find('\n', pos);
    std::string_view line =
        request.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line == "mn" || starts_with(line, "mn ")) ++count;
    if (eol == std::string_view::npos) break;
    pos = eol + 1;
  }
  return count;
}

std::string normalize_reply(std::string_view reply, std::map<std::string, int>& seen,
                            std::string* format_errors, bool strip_number_padding) {
  std::string out;
  size_t pos = 0;
  while (pos < reply.size()) {
    size_t eol = reply.find("\r\n", pos);
    if (eol == std::string_view::npos) {
      out.append(reply.substr(pos));  // a trailing partial line stays as it is
      break;
    }
    std::string_view line = reply.substr(pos, eol - pos);
    pos = eol + 2;
    std::string header = normalize_line(line, seen, format_errors);
    auto data = data_block_length(line);
    if (!data) {
      out += header + "\r\n";
      continue;
    }
    const size_t take = std::min(reply.size() - pos, *data + 2);
    std::string_view block = reply.substr(pos, take);
    pos += take;
    if (strip_number_padding && take == *data + 2) {
      std::string_view value = block.substr(0, *data);
      const size_t digits = value.find_first_not_of("0123456789");
      if (digits != std::string_view::npos && digits > 0 &&
          value.find_first_not_of(' ', digits) == std::string_view::npos) {
        // "33   " -> "33", and the length in the header with it.
        auto tokens = split_tokens(header);
        const size_t length_index = tokens[0] == "VALUE" ? 3 : 1;
        std::string rebuilt;
        for (size_t i = 0; i < tokens.size(); ++i) {
          if (i > 0) rebuilt += ' ';
          rebuilt += i == length_index ? std::to_string(digits) : std::string(tokens[i]);
        }
        out += rebuilt + "\r\n" + std::string(value.substr(0, digits)) + "\r\n";
        continue;
      }
    }
    out += header + "\r\n";
    out.append(block);
  }
  return out;
}

std::string make_value(size_t n, uint32_t seed) {
  std::string value(n, '\0');
  uint64_t state = 0x9e3779b97f4a7c15ULL ^ seed;
  for (size_t i = 0; i < n; ++i) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    value[i] = static_cast<char>(state >> 24);
  }
  // Protocol-looking bytes inside the value: a server that looks for line ends
  // or reply terminators in value data will break on these.
  static constexpr std::string_view kTraps[] = {"\r\n", "\r\nEND\r\n", "\r\nMN\r\n", "\n"};
  for (size_t i = 0, k = 0; i + 8 < n; i += 997, ++k) {
    auto trap = kTraps[k % std::size(kTraps)];
    value.replace(i, trap.size(), trap);
  }
  return value;
}

void DifferentialTest::SetUp() {
  std::string error;
  reference_ = start_memcached(&error);
  ASSERT_NE(reference_, nullptr) << "reference memcached: " << error;
  subject_ = start_subject(&error, subject_options());
  ASSERT_NE(subject_, nullptr) << subject_name() << ": " << error;
  reconnect();
}

void DifferentialTest::reconnect() {
  reference_client_ = Client::connect(reference_->port());
  ASSERT_TRUE(reference_client_.has_value()) << "cannot connect to " << reference_->command_line();
  subject_client_ = Client::connect(subject_->port());
  ASSERT_TRUE(subject_client_.has_value()) << "cannot connect to " << subject_->command_line();
}

Replies DifferentialTest::exchange(const std::function<std::string(Side)>& request,
                                   milliseconds timeout) {
  Replies replies;
  const std::string reference_request = request(Side::kReference) + "mn\r\n";
  replies.subject_request = request(Side::kSubject) + "mn\r\n";
  // Both requests are sent before either reply is read, so the servers work
  // in parallel; Client::send buffers early replies.
  bool sent_reference = reference_client_->send(reference_request, timeout);
  bool sent_subject = true;
  if (subject_piece_size) {
    std::string_view rest = replies.subject_request;
    while (sent_subject && !rest.empty()) {
      size_t n = std::min(rest.size(), std::max<size_t>(1, subject_piece_size()));
      sent_subject = subject_client_->send(rest.substr(0, n), timeout);
      rest.remove_prefix(n);
    }
  } else {
    sent_subject = subject_client_->send(replies.subject_request, timeout);
  }
  auto read = [&](Client& client, const std::string& sent) {
    const int markers = count_noops(sent);
    return client.read_until(
        [markers](std::string_view got) { return reply_length_through_markers(got, markers); },
        timeout);
  };
  replies.reference = read(*reference_client_, reference_request);
  replies.subject = read(*subject_client_, replies.subject_request);
  // A send cut short by the server closing the connection is not an error in
  // itself (e.g. "quit" followed by more bytes); the close flag reports it.
  if (!sent_reference && !replies.reference.closed) replies.reference.timed_out = true;
  if (!sent_subject && !replies.subject.closed) replies.subject.timed_out = true;
  return replies;
}

Replies DifferentialTest::expect_same(std::string_view request, milliseconds timeout) {
  std::string copy(request);
  return expect_same([&copy](Side) { return copy; }, timeout);
}

Replies DifferentialTest::expect_same(const std::function<std::string(Side)>& request,
                                      milliseconds timeout) {
  Replies replies = exchange(request, timeout);
  std::string format_errors;
  const std::string reference =
      normalize_reply(replies.reference.bytes, reference_cas_, nullptr, strip_number_padding);
  const std::string subject =
      normalize_reply(replies.subject.bytes, subject_cas_, &format_errors, strip_number_padding);
  auto describe = [](const ReadResult& r) {
    std::string state = r.closed ? " [connection closed]" : "";
    if (r.timed_out) state += " [timed out before the final MN]";
    return state;
  };
  const bool same = reference == subject && replies.reference.closed == replies.subject.closed &&
                    !replies.reference.timed_out && !replies.subject.timed_out;
  if (!same) {
    size_t at = 0;
    while (at < reference.size() && at < subject.size() && reference[at] == subject[at]) ++at;
    // Long replies (large values) are shown around the first difference only.
    constexpr size_t kWhole = 3000;
    auto show = [at](const std::string& reply) {
      if (reply.size() <= kWhole) return escape(reply);
      const size_t from = at > 300 ? at - 300 : 0;
      return "[" + std::to_string(reply.size()) + " bytes; from byte " + std::to_string(from) +
             "]\n" + escape(std::string_view(reply).substr(from, 800));
    };
    ADD_FAILURE() << "replies differ (first difference at normalized byte " << at << ")\n"
                  << "--- request (" << subject_name() << "):\n"
                  << escape(replies.subject_request, 1200) << "\n"
                  << "--- memcached replied" << describe(replies.reference) << ":\n"
                  << show(reference) << "\n--- " << subject_name() << " replied"
                  << describe(replies.subject) << ":\n"
                  << show(subject);
  }
  EXPECT_TRUE(format_errors.empty()) << format_errors;
  if (std::getenv("MCGUARD_E2E_VERBOSE") != nullptr) {
    std::printf("--- request:\n%s\n--- reply:\n%s\n", escape(replies.subject_request, 600).c_str(),
                escape(subject, 600).c_str());
  }
  return replies;
}

std::string DifferentialTest::cas_of(Side side, std::string_view key) {
  Client& c = client(side);
  EXPECT_TRUE(c.send("gets " + std::string(key) + "\r\n"));
  ReadResult header = c.read_line();
  auto tokens = split_tokens(std::string_view(header.bytes).substr(0, header.bytes.size() - 2));
  if (tokens.size() != 5 || tokens[0] != "VALUE") {
    EXPECT_EQ(header.bytes, "END\r\n") << "unexpected gets reply";
    return "";
  }
  const size_t length = parse_size(tokens[3]).value_or(0);
  c.read_exactly(length + 2);
  EXPECT_EQ(c.read_line().bytes, "END\r\n");
  return std::string(tokens[4]);
}

}  // namespace mcguard::e2e
