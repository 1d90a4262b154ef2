// The differential suites (Differential, Values, Limits: every command compared
// byte for byte with a direct memcached) through mcguard's upstream tier, with
// one upstream and with three. Each run is this test binary started again with
// MCGUARD_E2E_UPSTREAMS=N, which makes start_subject put N fresh memcached
// servers behind mcguard; the reference side stays a direct memcached.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <regex>
#include <sstream>

#include "harness.h"

namespace mcguard::e2e {
namespace {

constexpr const char* kSuites = "Differential.*:Values.*:Limits.*";

std::string self_path() {
  char path[4096];
  const ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
  return n > 0 ? std::string(path, static_cast<size_t>(n)) : std::string();
}

// The output of the failed tests in `output` (each from its "[ RUN      ]" line
// to its "[  FAILED  ]" line), each cut to `per_test` characters, all of them
// to `total`.
std::string failed_test_output(const std::string& output, size_t per_test, size_t total) {
  std::string report;
  std::istringstream in(output);
  std::string line;
  std::string current;
  while (std::getline(in, line)) {
    if (line.rfind("[ RUN      ]", 0) == 0) current.clear();
    current += line + "\n";
    if (line.rfind("[  FAILED  ]", 0) == 0 && line.find(" ms)") != std::string::npos) {
      if (report.size() + std::min(current.size(), per_test) > total) {
        report += "...[more failed tests]...\n";
        break;
      }
      report += current.size() <= per_test
                    ? current
                    : current.substr(0, per_test) + "\n...[cut]...\n" + line + "\n";
    }
  }
  return report;
}

void expect_suites_pass_through(int upstreams) {
  if (subject_is_memcached()) GTEST_SKIP() << "upstream tier tests need mcguard as the subject";
  const std::string self = self_path();
  ASSERT_FALSE(self.empty()) << "cannot find this test binary";
  // GTEST_* variables of this run (an XML output file, sharding) must not
  // apply to the inner run.
  ProgramRun run = run_program({self, std::string("--gtest_filter=") + kSuites, "--gtest_color=no"},
                               {"MCGUARD_E2E_UPSTREAMS=" + std::to_string(upstreams)}, {"GTEST_"},
                               milliseconds(600000));
  ASSERT_FALSE(run.timed_out) << "the suites did not finish within 600 s; output:\n"
                              << escape(run.output, 20000);
  std::smatch passed;
  const bool counted =
      std::regex_search(run.output, passed, std::regex(R"(\[  PASSED  \] (\d+) test)"));
  const bool ok = run.status.exited && run.status.code == 0;
  std::printf("[ INFO     ] through %d upstream(s): %s passed; exit %s %d\n", upstreams,
              counted ? passed[1].str().c_str() : "no tests", run.status.exited ? "code" : "signal",
              run.status.exited ? run.status.code : run.status.signal);
  if (!ok) {
    std::string failures = failed_test_output(run.output, 6000, 40000);
    std::string summary;
    std::istringstream in(run.output);
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("[  FAILED  ]", 0) == 0 && line.find(" ms)") == std::string::npos) {
        summary += line + "\n";
      }
    }
    ADD_FAILURE() << "the differential suites failed through " << upstreams << " upstream(s)\n"
                  << summary << "\n"
                  << (failures.empty() ? escape(run.output, 20000) : failures);
  }
  EXPECT_TRUE(counted) << "no test ran; output:\n" << escape(run.output, 4000);
}

TEST(UpstreamDifferential, SuitesThroughOneUpstream) { expect_suites_pass_through(1); }

TEST(UpstreamDifferential, SuitesThroughThreeUpstreams) { expect_suites_pass_through(3); }

}  // namespace
}  // namespace mcguard::e2e
