// UpstreamHarness: an UpstreamTier of one worker, run without memcached. Its servers are
// LoopbackServers the test reads requests from and writes replies to; its loop is a
// FakeReactor whose clock only the test moves; its client is one ReplyQueue, drained
// the way a Connection drains it. Requests are parsed from text as a connection would.
#pragma once

#include <gtest/gtest.h>
#include <sys/uio.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fake_reactor.h"
#include "pool/buffer_pool.h"
#include "proxy/core/pending_reply.h"
#include "proxy/core/reply_queue.h"
#include "proxy/upstream/ketama.h"
#include "proxy/upstream/upstream_tier.h"
#include "test_support.h"

namespace mcguard::test {

inline constexpr int kClientId = 42;

class UpstreamHarness {
 public:
  // Plain forwarding: the scripted replies here answer the client's requests
  // one for one (splitting adds lookups; the e2e tests cover it against memcached).
  static UpstreamSettings default_settings() {
    UpstreamSettings settings;
    settings.split_mode = SplitMode::kOff;
    return settings;
  }

  explicit UpstreamHarness(size_t server_count, UpstreamSettings settings = default_settings());

  UpstreamTier& tier() { return *tier_; }
  FakeReactor& reactor() { return reactor_; }
  ReplyQueue& queue() { return queue_; }
  PendingReplyPool& replies() { return replies_; }
  LoopbackServer& server(size_t index) { return *servers_[index]; }
  const UpstreamServer& upstream(size_t index) const { return tier_->servers()[index]; }
  const std::vector<UpstreamAddress>& addresses() const { return addresses_; }

  // Parses every command in `input` and hands it to the tier (data blocks as
  // iovecs), as the harness's client or as `client` (another client's queue).
  void execute(std::string_view input) { execute(input, queue_); }
  void execute(std::string_view input, ReplyQueue& client);
  // A queue for another client, set up as the harness's own.
  std::unique_ptr<ReplyQueue> another_client(int id);
  // The first key "<prefix>N" that the ring places on `server`.
  std::string key_on(size_t server, std::string_view prefix) const;

  // Turns the loop (flushing the tier each turn) until `server` has received `bytes`
  // request bytes on its newest connection; returns them and forgets them.
  std::string receive(size_t server, size_t bytes);
  // As many bytes as `expected` holds (for comparing with it).
  std::string receive(size_t server, std::string_view expected) {
    return receive(server, expected.size());
  }
  // What `server` has received so far and not yet taken.
  std::string received(size_t server);
  // Writes reply bytes on `server`'s newest connection.
  void reply(size_t server, std::string_view bytes);
  // Closes `server`'s newest connection from the server side.
  void hang_up(size_t server);
  // Turns the loop until the client has `bytes` reply bytes to read; returns what it
  // read (fewer bytes when the limit passed first).
  std::string client_reads(size_t bytes);
  // What the client can read right now, without turning the loop.
  std::string drain() { return drain_queue(queue_); }
  // Turns the loop until `done` holds.
  bool run_until(const std::function<bool()>& done);

 private:
  std::vector<int> server_fds() const;
  void accept_all();

  FakeReactor reactor_;
  BufferPool io_pool_{256, 4096};
  BufferPool reply_pool_{256, 4096};
  PendingReplyPool replies_{reply_pool_, 64, 64};
  std::vector<std::unique_ptr<LoopbackServer>> servers_;
  std::vector<UpstreamAddress> addresses_;
  std::unique_ptr<UpstreamTier> tier_;  // after the reactor and pools it uses
  ReplyQueue queue_{io_pool_, 64};
};

}  // namespace mcguard::test
