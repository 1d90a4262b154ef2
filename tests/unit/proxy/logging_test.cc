// Log output as operators read it: --log-format json writes one JSON object a
// line with the message escaped, and the rejection log writes at most
// `per_second` lines then one summary of what it suppressed.
#include "proxy/logging.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <sstream>

#include "proxy/core/rejection_log.h"

namespace mcguard {
namespace {

class LogCapture : public ::testing::Test {
 protected:
  void SetUp() override {
    previous_ = spdlog::default_logger();
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink));
  }
  void TearDown() override {
    configure_logging("info", "text");
    spdlog::set_default_logger(previous_);
  }
  std::vector<std::string> lines() const {
    std::vector<std::string> out;
    std::istringstream in(out_.str());
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }

  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> previous_;
};

TEST_F(LogCapture, JsonFormatIsOneEscapedObjectPerLine) {
  configure_logging("info", "json");
  spdlog::info("key \"a\\b\" arrived\nsplit\x01");
  spdlog::debug("below the level");
  auto got = lines();
  ASSERT_EQ(got.size(), 1u) << out_.str();
  const std::string& line = got[0];
  EXPECT_EQ(line.rfind("{\"time\":\"", 0), 0u) << line;
  EXPECT_NE(
      line.find("\",\"level\":\"info\",\"msg\":\"key \\\"a\\\\b\\\" arrived\\nsplit\\u0001\"}"),
      std::string::npos)
      << line;
}

TEST_F(LogCapture, RejectionsAreRateLimitedWithASummary) {
  configure_logging("info", "text");
  RejectionLog log(3);
  for (int i = 0; i < 10; ++i) log.rejected("object too large", "peer", "key", 1000 + i, 100);
  log.observed("peer", "key", 5000, 100);
  auto got = lines();
  // Unless the second turned over mid-loop, three lines then silence.
  ASSERT_GE(got.size(), 3u);
  EXPECT_NE(got[0].find("rejected object too large: client peer key 'key' value 1000 bytes "
                        "(limit 100)"),
            std::string::npos)
      << got[0];
  const size_t logged = got.size();
  RejectionLog::flush_summaries();
  got = lines();
  ASSERT_EQ(got.size(), logged + 1) << out_.str();
  EXPECT_NE(got.back().find("suppressed"), std::string::npos) << got.back();
  if (logged == 3) {
    EXPECT_NE(got.back().find("suppressed 8 rejection log lines: object too large 7 (largest 1009 "
                              "bytes), over limit, let through (observe mode) 1 (largest 5000 "
                              "bytes)"),
              std::string::npos)
        << got.back();
  }
  RejectionLog::flush_summaries();
  EXPECT_EQ(lines().size(), logged + 1) << "nothing more to summarise";
}

}  // namespace
}  // namespace mcguard
