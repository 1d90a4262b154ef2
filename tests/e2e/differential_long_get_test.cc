// Retrieval lines of any length: memcached reads get lines of any length, and
// so must mcguard, in both tiers, without holding the line (or the replies of
// all its keys) in memory at once. A line longer than a receive buffer is taken
// key by key as it arrives; a line with more keys than one request may carry
// (the upstream tier's pending replies) goes in batches. The reply must be
// memcached's, byte for byte.
#include <algorithm>
#include <atomic>
#include <map>
#include <thread>

#include "differential.h"
#include "ops_support.h"

namespace mcguard::e2e {
namespace {

// " key:0000042" for n = 42: fixed width, so 100,000 keys make a line of about 1.2 MB.
std::string numbered_key(int n) {
  char key[32];
  std::snprintf(key, sizeof key, "key:%07d", n);
  return key;
}

// "<verb> k k k ...\r\n" over keys 0..count-1.
std::string retrieval_line(std::string_view verb, int count) {
  std::string line(verb);
  line.reserve(line.size() + 12u * static_cast<size_t>(count) + 2);
  for (int i = 0; i < count; ++i) line += " " + numbered_key(i);
  return line + "\r\n";
}

// Stores every `step`-th key of 0..count-1 with a value that names it.
std::string store_every(int step, int count) {
  std::string sets;
  for (int i = 0; i < count; i += step) {
    const std::string key = numbered_key(i);
    sets += "set " + key + " " + std::to_string(i) + " 0 " + std::to_string(key.size() + 2) +
            "\r\n<" + key + ">\r\n";
  }
  return sets;
}

// Samples the subject's VmRSS until stopped; max_kib() is the largest seen.
class RssSampler {
 public:
  explicit RssSampler(ServerProcess& server)
      : thread_([this, &server] {
          while (!stop_.load()) {
            max_kib_ = std::max(max_kib_.load(), server.rss_kib().value_or(0));
            std::this_thread::sleep_for(milliseconds(5));
          }
        }) {}
  ~RssSampler() { stop(); }
  long max_kib() {
    stop();
    return max_kib_.load();
  }

 private:
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::atomic<bool> stop_{false};
  std::atomic<long> max_kib_{0};
  std::thread thread_;
};

TEST_F(Differential, GetOfAHundredThousandKeysIsMemcachedsReply) {
  expect_same(store_every(97, 100000), milliseconds(20000));
  std::unique_ptr<RssSampler> rss;
  long long budget_kib = -1;
  if (!subject_is_memcached()) {
    auto admin = Client::connect(subject_->port());
    ASSERT_TRUE(admin.has_value());
    budget_kib = stat_number(*admin, "mcguard_memory_budget") / 1024;
    ASSERT_GT(budget_kib, 0);
    rss = std::make_unique<RssSampler>(*subject_);
  }
  const std::string line = retrieval_line("get", 100000);
  ASSERT_GT(line.size(), 1000000u);
  const Replies r = expect_same(line, milliseconds(60000));
  EXPECT_EQ(std::count(r.subject.bytes.begin(), r.subject.bytes.end(), '<'), 1031);
  // The connection goes on.
  expect_same("get " + numbered_key(97) + " " + numbered_key(98) + "\r\n");
  if (rss) {
    const long max_kib = rss->max_kib();
    std::printf("[ INFO     ] VmRSS max %ld KiB during a %zu-byte get; budget %lld KiB\n", max_kib,
                line.size(), budget_kib);
    EXPECT_LE(max_kib, budget_kib);
  }
}

TEST_F(Differential, GetAndGetsLinesLongerThanABuffer) {
  // 20,000 keys: about 240 KB, several receive buffers.
  expect_same(store_every(13, 20000), milliseconds(20000));
  for (const char* verb : {"get", "gets", "  get"}) {
    SCOPED_TRACE(verb);
    expect_same(retrieval_line(verb, 20000), milliseconds(30000));
  }
  expect_same("gets " + numbered_key(13) + "\r\n");
}

// memcached closes a gat, gats or bget line once 2048 bytes of it arrive
// without the newline (one that arrives whole it answers), so a line longer
// than a socket read is closed there. mcguard takes them as it takes get
// lines: the reply must be memcached's reply to the same keys asked in lines
// under 2048 bytes, with one END.
TEST_F(Differential, GatGatsAndBgetLinesLongerThanABuffer) {
  expect_same(store_every(13, 20000), milliseconds(20000));
  for (const std::string verb : {"bget", "gat 100", "gats 0"}) {
    SCOPED_TRACE(verb);
    const Replies r = exchange(
        [&](Side side) {
          if (side == Side::kSubject) return retrieval_line(verb, 20000);
          std::string lines;
          for (int first = 0; first < 20000; first += 125) {
            lines += verb;
            for (int i = first; i < first + 125; ++i) lines += " " + numbered_key(i);
            lines += "\r\n";
          }
          return lines;
        },
        milliseconds(30000));
    ASSERT_FALSE(r.subject.closed || r.subject.timed_out || r.reference.timed_out);
    std::string expected = r.reference.bytes;
    for (size_t at; (at = expected.find("END\r\n")) != expected.rfind("END\r\n");) {
      expected.erase(at, 5);
    }
    std::map<std::string, int> reference_cas, subject_cas;
    const std::string subject = normalize_reply(r.subject.bytes, subject_cas, nullptr);
    const std::string reference = normalize_reply(expected, reference_cas, nullptr);
    const auto differ =
        std::mismatch(subject.begin(), subject.end(), reference.begin(), reference.end());
    EXPECT_TRUE(subject == reference)
        << "first difference at byte " << (differ.first - subject.begin()) << " of "
        << subject.size() << " / " << reference.size() << ": "
        << escape(std::string_view(subject).substr(differ.first - subject.begin(), 200)) << " vs "
        << escape(std::string_view(reference).substr(differ.second - reference.begin(), 200));
  }
}

TEST_F(Differential, ManyKeysInALineThatFitsABuffer) {
  // 5,000 keys (60 KB): one receive buffer, more keys than one upstream
  // request carries; and a 100-key gats (4.3 KB, over memcached's 2048-byte
  // line limit for other commands), as Cache::Memcached::Fast sends it.
  expect_same(store_every(7, 5000));
  expect_same(retrieval_line("get", 5000), milliseconds(20000));
  expect_same(retrieval_line("gats 0", 100) + retrieval_line("gat 0", 100));
  expect_same(retrieval_line("get", 5000) + "get " + numbered_key(7) + "\r\n", milliseconds(20000));
}

TEST_F(Differential, ALongGetLineOfSpacesOnly) {
  // memcached: a get without keys is an unknown command.
  expect_same("get" + std::string(200000, ' ') + "\r\nget " + std::string(70000, ' ') + "\r\n",
              milliseconds(20000));
  // A gat without keys is END (memcached closes this line for its length; see above).
  const Replies r = exchange(
      [](Side side) {
        return side == Side::kSubject ? "gat 0" + std::string(200000, ' ') + "\r\n"
                                      : std::string("gat 0\r\n");
      },
      milliseconds(20000));
  EXPECT_EQ(escape(r.subject.bytes), escape(r.reference.bytes));
}

TEST_F(Differential, AnInvalidExptimeInALongGatLine) {
  const std::string next = "get " + numbered_key(1) + "\r\n";
  const Replies r = exchange(
      [&](Side side) {
        return (side == Side::kSubject ? retrieval_line("gat x", 20000) : "gat x k\r\n") + next;
      },
      milliseconds(20000));
  EXPECT_EQ(escape(r.subject.bytes), escape(r.reference.bytes));
}

// memcached reads the whole line before answering, so a key over 250 bytes
// anywhere in it leaves only the error. mcguard answers a line longer than its
// receive buffer as it arrives: the keys before the bad one (in earlier
// batches) have been answered already, and the error then ends the reply in
// place of END. Within one buffer the reply is memcached's.
TEST_F(Differential, AKeyTooLongInALongGetLine) {
  expect_same(store_every(1, 3));
  const std::string bad_key(251, 'x');
  expect_same("get " + numbered_key(0) + " " + bad_key + " " + numbered_key(1) + "\r\n");
  std::string line = retrieval_line("get", 20000);
  line.insert(line.size() - 2, " " + bad_key + " " + numbered_key(2));
  const std::string next = "get " + numbered_key(1) + "\r\n";
  const Replies r = exchange([&](Side) { return line + next; }, milliseconds(30000));
  ASSERT_FALSE(r.subject.timed_out || r.subject.closed) << escape(r.subject.bytes, 300);
  const std::string after =
      "VALUE " + numbered_key(1) + " 1 13\r\n<" + numbered_key(1) + ">\r\nEND\r\nMN\r\n";
  EXPECT_EQ(r.reference.bytes, "CLIENT_ERROR bad command line format\r\n" + after);
  if (subject_is_memcached()) return;
  const std::string tail = "CLIENT_ERROR bad command line format\r\n" + after;
  ASSERT_TRUE(r.subject.bytes.ends_with(tail)) << escape(r.subject.bytes, 300);
  const std::string_view answered(r.subject.bytes.data(), r.subject.bytes.size() - tail.size());
  EXPECT_EQ(answered.find("END\r\n"), std::string_view::npos) << escape(answered, 300);
  EXPECT_TRUE(answered.starts_with("VALUE " + numbered_key(0))) << escape(answered, 300);
}

TEST_F(Differential, AHundredThousandMetaGetsInOnePipeline) {
  expect_same(store_every(101, 100000), milliseconds(20000));
  std::string pipeline;
  pipeline.reserve(2000000);
  for (int i = 0; i < 100000; ++i) pipeline += "mg " + numbered_key(i) + " v f\r\n";
  std::unique_ptr<RssSampler> rss;
  long long budget_kib = -1;
  if (!subject_is_memcached()) {
    auto admin = Client::connect(subject_->port());
    ASSERT_TRUE(admin.has_value());
    budget_kib = stat_number(*admin, "mcguard_memory_budget") / 1024;
    rss = std::make_unique<RssSampler>(*subject_);
  }
  expect_same(pipeline, milliseconds(60000));
  if (rss) {
    const long max_kib = rss->max_kib();
    std::printf("[ INFO     ] VmRSS max %ld KiB during 100,000 pipelined mg; budget %lld KiB\n",
                max_kib, budget_kib);
    EXPECT_LE(max_kib, budget_kib);
  }
}

}  // namespace
}  // namespace mcguard::e2e
