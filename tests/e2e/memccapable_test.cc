// libmemcached's memccapable (Debian's libmemcached-tools) run in its ASCII
// mode against mcguard's embedded tier and its upstream tier (one and three
// memcached upstreams), and against a plain memcached to check that its output
// is read right. Every test it runs must pass: a line "<name> [pass]" per
// test, no other verdict, and its closing "All tests passed".
#include <gtest/gtest.h>
#include <unistd.h>

#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "harness.h"

namespace mcguard::e2e {
namespace {

constexpr const char* kMemccapable = "/usr/bin/memccapable";
constexpr int kAsciiTests = 27;  // memccapable 1.1's ASCII tests

struct Verdicts {
  std::vector<std::string> passed;
  std::vector<std::string> other;  // "<name> [<verdict>]" lines that are not a pass
  bool all_passed_line = false;
};

// Reads memccapable's report: "<test name>   [pass|fail|skip]" per test.
Verdicts parse_report(const std::string& output) {
  static const std::regex kVerdict(R"(^(\S.*?)\s+\[(\w+)\]\s*$)");
  Verdicts v;
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (line == "All tests passed") v.all_passed_line = true;
    if (!std::regex_match(line, m, kVerdict)) continue;
    if (m[2] == "pass") {
      v.passed.push_back(m[1]);
    } else {
      v.other.push_back(line);
    }
  }
  return v;
}

void expect_memccapable_passes(uint16_t port) {
  // -t: memccapable's own I/O timeout; run_program's deadline bounds the whole run.
  ProgramRun run =
      run_program({kMemccapable, "-h", "127.0.0.1", "-p", std::to_string(port), "-a", "-t", "5"},
                  {}, {}, milliseconds(120000));
  ASSERT_FALSE(run.timed_out) << "memccapable did not finish in 120 s:\n" << run.output;
  const Verdicts v = parse_report(run.output);
  EXPECT_TRUE(v.other.empty()) << run.output;
  EXPECT_EQ(v.passed.size(), static_cast<size_t>(kAsciiTests)) << run.output;
  EXPECT_TRUE(v.all_passed_line) << run.output;
  EXPECT_TRUE(run.status.exited && run.status.code == 0) << run.output;
}

class Memccapable : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(kMemccapable, X_OK) != 0) {
      GTEST_SKIP() << kMemccapable
                   << " is not installed (scripts/setup installs libmemcached-tools)";
    }
  }

  // mcguard in front of `upstreams` fresh memcached servers (0: the embedded tier).
  void run_against_mcguard(int upstreams) {
    std::string error;
    McguardOptions options;
    std::vector<std::unique_ptr<ServerProcess>> servers;
    for (int i = 0; i < upstreams; ++i) {
      servers.push_back(start_memcached(&error));
      ASSERT_NE(servers.back(), nullptr) << error;
      options.extra_args.push_back("--upstream");
      options.extra_args.push_back("127.0.0.1:" + std::to_string(servers.back()->port()));
    }
    auto mcguard = start_subject(&error, options);
    ASSERT_NE(mcguard, nullptr) << subject_name() << ": " << error;
    expect_memccapable_passes(mcguard->port());
  }
};

TEST_F(Memccapable, ReportIsReadRight) {
  const Verdicts v = parse_report(
      "ascii version                           [pass]\n"
      "ascii stat                              [FAIL]\n"
      "ascii set noreply                       [pass]\n"
      "1 of 3 tests failed\n");
  EXPECT_EQ(v.passed, (std::vector<std::string>{"ascii version", "ascii set noreply"}));
  EXPECT_EQ(v.other.size(), 1u);
  EXPECT_FALSE(v.all_passed_line);
}

TEST_F(Memccapable, PlainMemcachedPassesEveryTest) {
  std::string error;
  auto memcached = start_memcached(&error);
  ASSERT_NE(memcached, nullptr) << error;
  expect_memccapable_passes(memcached->port());
}

TEST_F(Memccapable, EmbeddedTierPassesEveryTest) {
  if (subject_is_memcached()) GTEST_SKIP() << "mcguard's tiers only";
  run_against_mcguard(0);
}

TEST_F(Memccapable, UpstreamTierWithOneUpstreamPassesEveryTest) {
  if (subject_is_memcached()) GTEST_SKIP() << "mcguard's tiers only";
  run_against_mcguard(1);
}

TEST_F(Memccapable, UpstreamTierWithThreeUpstreamsPassesEveryTest) {
  if (subject_is_memcached()) GTEST_SKIP() << "mcguard's tiers only";
  run_against_mcguard(3);
}

}  // namespace
}  // namespace mcguard::e2e
