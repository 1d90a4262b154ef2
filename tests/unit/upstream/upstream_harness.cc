#include "upstream_harness.h"

#include <algorithm>

#include "protocol/parser.h"
#include "protocol/request.h"

namespace mcguard::test {

UpstreamHarness::UpstreamHarness(size_t server_count, UpstreamSettings settings) {
  for (size_t i = 0; i < server_count; ++i) {
    servers_.push_back(std::make_unique<LoopbackServer>());
    addresses_.push_back(UpstreamAddress{"127.0.0.1", servers_.back()->port(), 1});
  }
  tier_ = std::make_unique<UpstreamTier>(addresses_, settings, io_pool_, reactor_, replies_);
  queue_.set_pending_pool(&replies_);
  queue_.set_owner_id(kClientId);
}

std::unique_ptr<ReplyQueue> UpstreamHarness::another_client(int id) {
  auto client = std::make_unique<ReplyQueue>(io_pool_, 64);
  client->set_pending_pool(&replies_);
  client->set_owner_id(id);
  return client;
}

void UpstreamHarness::execute(std::string_view input, ReplyQueue& client) {
  size_t pos = 0;
  while (pos < input.size()) {
    Request request;
    const ParseResult result = parse_header({input.data() + pos, input.size() - pos}, request);
    if (result.status != ParseResult::Status::kRequest) {
      ADD_FAILURE() << "not a whole request at byte " << pos << " of the test input";
      return;
    }
    pos += result.consumed;
    std::vector<iovec> value;
    if (request.has_value()) {
      value.push_back({const_cast<char*>(input.data() + pos), request.value_length});
      pos += request.value_length + 2;
    }
    ASSERT_TRUE(tier_->can_accept(request, client));
    tier_->execute(request, value, client, nullptr);
  }
}

std::string UpstreamHarness::key_on(size_t server, std::string_view prefix) const {
  KetamaRing ring(addresses_);
  for (int i = 0;; ++i) {
    std::string key = std::string(prefix) + std::to_string(i);
    if (ring.server_for(key) == server) return key;
  }
}

std::vector<int> UpstreamHarness::server_fds() const {
  std::vector<int> fds;
  for (const auto& server : servers_) {
    for (int fd : server->fds()) fds.push_back(fd);
  }
  return fds;
}

void UpstreamHarness::accept_all() {
  for (auto& server : servers_) {
    while (server->try_accept() >= 0) {
    }
  }
}

bool UpstreamHarness::run_until(const std::function<bool()>& done) {
  return test::run_until(
      reactor_, done,
      [&] {
        tier_->flush();
        accept_all();
      },
      server_fds());
}

std::string UpstreamHarness::receive(size_t index, size_t bytes) {
  LoopbackServer& server = *servers_[index];
  const bool arrived = run_until([&] {
    if (server.accepted() == 0) return false;
    server.read_available(server.accepted() - 1);
    return server.received(server.accepted() - 1).size() >= bytes;
  });
  EXPECT_TRUE(arrived) << "server " << index << " did not receive " << bytes << " bytes";
  if (server.accepted() == 0) return {};
  std::string& received = server.received(server.accepted() - 1);
  std::string out = received.substr(0, std::min(bytes, received.size()));
  received.erase(0, out.size());
  return out;
}

std::string UpstreamHarness::received(size_t index) {
  LoopbackServer& server = *servers_[index];
  if (server.accepted() == 0) return {};
  server.read_available(server.accepted() - 1);
  return server.received(server.accepted() - 1);
}

void UpstreamHarness::reply(size_t index, std::string_view bytes) {
  LoopbackServer& server = *servers_[index];
  ASSERT_GT(server.accepted(), 0u) << "server " << index << " has no connection";
  server.send(server.accepted() - 1, bytes);
}

void UpstreamHarness::hang_up(size_t index) {
  LoopbackServer& server = *servers_[index];
  ASSERT_GT(server.accepted(), 0u) << "server " << index << " has no connection";
  server.close_peer(server.accepted() - 1);
}

std::string UpstreamHarness::client_reads(size_t bytes) {
  std::string out;
  run_until([&] {
    out += drain();
    return out.size() >= bytes;
  });
  return out;
}

}  // namespace mcguard::test
