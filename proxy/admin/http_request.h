// The little HTTP/1.x the admin listener speaks: find the end of a request
// head in the bytes received so far and take its method and path; build a
// whole response (the listener closes the connection after each one). Pure
// functions over bytes, so they are tested without sockets.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mcguard::admin {

struct HttpRequest {
  enum class Status { kIncomplete, kBad, kComplete };
  Status status = Status::kIncomplete;
  std::string_view method;
  std::string_view path;  // without a query string
};

// Parses the request head in `received` (which may hold only part of it).
// kBad for a request line that is not METHOD SP TARGET SP HTTP/1.x.
HttpRequest parse_http_request(std::string_view received);

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

// Status line, headers (Content-Type, Content-Length, Connection: close) and
// body; `head_only` for HEAD requests.
std::string serialize(const HttpResponse& response, bool head_only = false);

}  // namespace mcguard::admin
