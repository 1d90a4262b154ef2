// The admin listener's HTTP: request heads parsed from partial and malformed
// bytes, and responses serialized with their length and Connection: close.
#include <gtest/gtest.h>

#include "proxy/admin/http_request.h"
#include "proxy/admin/metrics_text.h"

namespace mcguard {
namespace {

using admin::HttpRequest;

TEST(AdminHttp, CompleteRequestGivesMethodAndPathWithoutQuery) {
  auto r = admin::parse_http_request("GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_EQ(r.status, HttpRequest::Status::kComplete);
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.path, "/metrics");
  r = admin::parse_http_request("HEAD /readyz HTTP/1.0\n\n");
  ASSERT_EQ(r.status, HttpRequest::Status::kComplete);
  EXPECT_EQ(r.method, "HEAD");
}

TEST(AdminHttp, PartialHeadsWaitForMore) {
  const std::string full = "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n";
  for (size_t n = 0; n < full.size(); ++n) {
    EXPECT_EQ(admin::parse_http_request(full.substr(0, n)).status, HttpRequest::Status::kIncomplete)
        << n;
  }
}

TEST(AdminHttp, MalformedRequestLinesAreBad) {
  for (const char* text :
       {"GET\r\n\r\n", "GET /x\r\n\r\n", "get /x HTTP/1.1\r\n\r\n", "GET x HTTP/1.1\r\n\r\n",
        "GET /x HTTP/2\r\n\r\n", "GET /a b HTTP/1.1\r\n\r\n", "\x01\x02\x03\n"}) {
    EXPECT_EQ(admin::parse_http_request(text).status, HttpRequest::Status::kBad) << text;
  }
}

TEST(AdminHttp, ResponseCarriesLengthAndCloses) {
  admin::HttpResponse response{404, "text/plain", "not found\n"};
  EXPECT_EQ(admin::serialize(response),
            "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n"
            "Connection: close\r\n\r\nnot found\n");
  EXPECT_EQ(admin::serialize(response, true).find("not found\n"), std::string::npos);
}

TEST(MetricsText, FamiliesSamplesAndHistograms) {
  MetricsText m;
  m.counter("x_total", "Things.", 3);
  m.family("y_bytes", "histogram", "Sizes.");
  const uint64_t bounds[] = {64, 256};
  const uint64_t cumulative[] = {1, 2};
  m.histogram("y_bytes", bounds, cumulative, 2, 3, 1000, {{"prefix", "a\"b"}});
  EXPECT_EQ(m.text(),
            "# HELP x_total Things.\n# TYPE x_total counter\nx_total 3\n"
            "# HELP y_bytes Sizes.\n# TYPE y_bytes histogram\n"
            "y_bytes_bucket{prefix=\"a\\\"b\",le=\"64\"} 1\n"
            "y_bytes_bucket{prefix=\"a\\\"b\",le=\"256\"} 2\n"
            "y_bytes_bucket{prefix=\"a\\\"b\",le=\"+Inf\"} 3\n"
            "y_bytes_sum{prefix=\"a\\\"b\"} 1000\n"
            "y_bytes_count{prefix=\"a\\\"b\"} 3\n");
  EXPECT_EQ(escape_label_value("a\\b\nc"), "a\\\\b\\nc");
}

}  // namespace
}  // namespace mcguard
