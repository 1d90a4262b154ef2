// UpstreamTier and UpstreamConnection against loopback sockets that play memcached:
// the exact request bytes each server receives, replies matched to requests in order,
// multi-gets split per server and reassembled in key order, and failures (a server that
// hangs up mid-reply, answers out of step, times out, or refuses) turned into
// memcached-style SERVER_ERROR lines. The clock is the FakeReactor's; nothing sleeps.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "protocol/parser.h"
#include "upstream_harness.h"

namespace mcguard {
namespace {

using test::kClientId;
using test::UpstreamHarness;

TEST(UpstreamTier, GetIsForwardedAndItsReplyLandsInTheClientQueue) {
  UpstreamHarness h(1);
  h.execute("get k\r\n");
  EXPECT_EQ(h.drain(), "") << "nothing is owed before the upstream answers";
  EXPECT_EQ(h.receive(0, "get k\r\n"), "get k\r\n");
  EXPECT_FALSE(h.queue().sendable());

  const std::string reply = "VALUE k 3 5\r\nhello\r\nEND\r\n";
  h.reply(0, reply);
  EXPECT_EQ(h.client_reads(reply.size()), reply);
  EXPECT_TRUE(h.queue().empty());
  ASSERT_FALSE(h.reactor().woken().empty());
  EXPECT_EQ(h.reactor().woken().back(), kClientId);
  EXPECT_EQ(h.upstream(0).requests.get(), 1u);
  EXPECT_EQ(h.replies().available(), h.replies().capacity()) << "slots back once sent";
}

TEST(UpstreamTier, StorageCommandSendsItsHeaderAndDataBlock) {
  UpstreamHarness h(1);
  h.execute("set k 1 2 5\r\nhello\r\n");
  EXPECT_EQ(h.receive(0, "set k 1 2 5\r\nhello\r\n"), "set k 1 2 5\r\nhello\r\n");
  h.reply(0, "STORED\r\n");
  EXPECT_EQ(h.client_reads(8), "STORED\r\n");
}

TEST(UpstreamTier, PipelinedRequestsAreAnsweredInRequestOrder) {
  UpstreamHarness h(1);
  const std::string requests =
      "set a 0 0 1\r\nx\r\nget a\r\ndelete a\r\nincr n 1\r\ntouch a 10\r\ngets a\r\n";
  h.execute(requests);
  EXPECT_EQ(h.receive(0, requests), requests) << "one connection, in order";
  const std::string replies =
      "STORED\r\nVALUE a 0 1\r\nx\r\nEND\r\nDELETED\r\nNOT_FOUND\r\nNOT_FOUND\r\nEND\r\n";
  // Byte by byte: every reply split at every place.
  for (char c : replies) h.reply(0, std::string(1, c));
  EXPECT_EQ(h.client_reads(replies.size()), replies);
  EXPECT_EQ(h.upstream(0).requests.get(), 6u);
}

TEST(UpstreamTier, ReplyOfALaterRequestWaitsForTheEarlierOne) {
  UpstreamHarness h(2);
  const std::string first = h.key_on(0, "first");
  const std::string second = h.key_on(1, "second");
  h.execute("get " + first + "\r\nget " + second + "\r\n");
  EXPECT_EQ(h.receive(0, "get " + first + "\r\n"), "get " + first + "\r\n");
  EXPECT_EQ(h.receive(1, "get " + second + "\r\n"), "get " + second + "\r\n");

  const std::string second_reply = "VALUE " + second + " 0 2\r\nv2\r\nEND\r\n";
  h.reply(1, second_reply);
  ASSERT_TRUE(h.run_until([&] { return h.reactor().woken().size() == 1; }));
  EXPECT_EQ(h.drain(), "") << "the second reply is complete but the first is still owed";

  h.reply(0, "END\r\n");
  EXPECT_EQ(h.client_reads(5 + second_reply.size()), "END\r\n" + second_reply);
}

TEST(UpstreamTier, MultiGetAcrossTwoServersIsReassembledInKeyOrderWithOneEnd) {
  UpstreamHarness h(2);
  const std::string k0 = h.key_on(0, "a"), k1 = h.key_on(1, "b"), k2 = h.key_on(0, "c");
  const std::string k3 = h.key_on(1, "d"), k4 = h.key_on(0, "e");
  h.execute("get " + k0 + " " + k1 + " " + k2 + " " + k3 + " " + k4 + "\r\n");

  const std::string to_first = "get " + k0 + " " + k2 + " " + k4 + "\r\n";
  const std::string to_second = "get " + k1 + " " + k3 + "\r\n";
  EXPECT_EQ(h.receive(0, to_first), to_first);
  EXPECT_EQ(h.receive(1, to_second), to_second);

  // The second server answers first, and k1 misses; the first misses k2.
  const std::string v3 = "VALUE " + k3 + " 0 2\r\nv3\r\n";
  const std::string v0 = "VALUE " + k0 + " 7 2\r\nv0\r\n";
  const std::string v4 = "VALUE " + k4 + " 0 2\r\nv4\r\n";
  h.reply(1, v3 + "END\r\n");
  h.reply(0, v0 + v4 + "END\r\n");
  const std::string expected = v0 + v3 + v4 + "END\r\n";
  EXPECT_EQ(h.client_reads(expected.size()), expected);
  EXPECT_TRUE(h.queue().empty());
}

TEST(UpstreamTier, GatSendsItsExptimeToEveryServer) {
  UpstreamHarness h(2);
  const std::string k0 = h.key_on(0, "a"), k1 = h.key_on(1, "b");
  h.execute("gat 100 " + k0 + " " + k1 + "\r\n");
  EXPECT_EQ(h.receive(0, "gat 100 " + k0 + "\r\n"), "gat 100 " + k0 + "\r\n");
  EXPECT_EQ(h.receive(1, "gat 100 " + k1 + "\r\n"), "gat 100 " + k1 + "\r\n");
  h.reply(0, "END\r\n");
  h.reply(1, "END\r\n");
  EXPECT_EQ(h.client_reads(5), "END\r\n") << "all missed: one END";
}

TEST(UpstreamTier, ValueLargerThanAReceiveBufferIsForwardedWhole) {
  UpstreamHarness h(1);
  h.execute("get big\r\n");
  EXPECT_EQ(h.receive(0, "get big\r\n"), "get big\r\n");
  const std::string value = test::pattern(20000);  // receive buffers are 4 KiB
  const std::string reply = "VALUE big 0 20000\r\n" + value + "\r\nEND\r\n";
  h.reply(0, reply);
  EXPECT_EQ(h.client_reads(reply.size()), reply);
}

TEST(UpstreamTier, UpstreamClosingMidReplyFailsEveryRequestInFlight) {
  UpstreamHarness h(1);
  h.execute("get a\r\nget b\r\nset c 0 0 1\r\nx\r\n");
  EXPECT_EQ(h.receive(0, "get a b\r\nset c 0 0 1\r\nx\r\n"), "get a b\r\nset c 0 0 1\r\nx\r\n");
  h.reply(0, "VALUE a 0 10\r\nabc");
  h.hang_up(0);
  const std::string error = "SERVER_ERROR upstream closed the connection\r\n";
  EXPECT_EQ(h.client_reads(3 * error.size()), error + error + error);
  EXPECT_EQ(h.upstream(0).failures.get(), 1u) << "one failure for the connection";
  EXPECT_EQ(h.upstream(0).consecutive_failures, 1u);
  EXPECT_FALSE(h.upstream(0).down) << "below the failure limit (3)";
  EXPECT_EQ(h.replies().available(), h.replies().capacity());

  // The next request opens a new connection.
  h.execute("get a\r\n");
  EXPECT_EQ(h.receive(0, "get a\r\n"), "get a\r\n");
  EXPECT_EQ(h.server(0).accepted(), 2u);
  h.reply(0, "END\r\n");
  EXPECT_EQ(h.client_reads(5), "END\r\n");
  EXPECT_EQ(h.upstream(0).consecutive_failures, 0u) << "a reply resets the count";
}

TEST(UpstreamTier, ReplyThatMatchesNoRequestFailsTheConnection) {
  UpstreamHarness h(1);
  h.execute("get a\r\nget b\r\n");
  EXPECT_EQ(h.receive(0, "get a b\r\n"), "get a b\r\n");
  h.reply(0, "STORED\r\n");  // not an answer to a get
  const std::string error = "SERVER_ERROR upstream sent an unexpected reply\r\n";
  EXPECT_EQ(h.client_reads(2 * error.size()), error + error);
}

TEST(UpstreamTier, ValueForAKeyNotAskedFailsTheWholeGet) {
  UpstreamHarness h(1);
  h.execute("get a b c\r\n");
  EXPECT_EQ(h.receive(0, "get a b c\r\n"), "get a b c\r\n");
  // a missed, b's value arrives, then one for a key nobody asked for while c is awaited.
  h.reply(0, "VALUE b 0 1\r\nx\r\nVALUE zz 0 1\r\ny\r\nEND\r\n");
  const std::string error = "SERVER_ERROR upstream sent an unexpected reply\r\n";
  EXPECT_EQ(h.client_reads(error.size()), error) << "one line for the whole get";
  EXPECT_EQ(h.upstream(0).failures.get(), 1u);
}

TEST(UpstreamTier, JunkAfterAnAnsweredGetClosesTheConnection) {
  UpstreamHarness h(1);
  h.execute("get a b\r\n");
  EXPECT_EQ(h.receive(0, "get a b\r\n"), "get a b\r\n");
  // The get is whole once b's block ends; the stray VALUE finds no request.
  h.reply(0, "VALUE b 0 1\r\nx\r\nVALUE zz 0 1\r\ny\r\nEND\r\n");
  const std::string answer = "VALUE b 0 1\r\nx\r\nEND\r\n";
  EXPECT_EQ(h.client_reads(answer.size()), answer);
  ASSERT_TRUE(h.run_until([&] { return h.reactor().watched_count() == 0; }))
      << "the connection is closed";
  EXPECT_EQ(h.upstream(0).failures.get(), 1u) << "the get still awaited its END";
}

TEST(UpstreamTier, MalformedReplyFailsTheConnection) {
  UpstreamHarness h(1);
  h.execute("get a\r\n");
  EXPECT_EQ(h.receive(0, "get a\r\n"), "get a\r\n");
  h.reply(0, "VALUE a 0 1\r\nxyz\r\nEND\r\n");  // the data block is longer than announced
  const std::string error = "SERVER_ERROR upstream sent a malformed reply\r\n";
  EXPECT_EQ(h.client_reads(error.size()), error);
}

TEST(UpstreamTier, ErrorReplyToAGetFailsItsKeys) {
  UpstreamHarness h(1);
  h.execute("get a b\r\n");
  EXPECT_EQ(h.receive(0, "get a b\r\n"), "get a b\r\n");
  h.reply(0, "SERVER_ERROR busy\r\n");
  const std::string error = "SERVER_ERROR upstream error\r\n";
  EXPECT_EQ(h.client_reads(error.size()), error);
  EXPECT_EQ(h.upstream(0).consecutive_failures, 0u) << "the server did answer";
}

TEST(UpstreamTier, TimeoutMarksTheServerDownAfterTheFailureLimit) {
  UpstreamSettings settings;
  settings.timeout_ms = 100;
  settings.failure_limit = 2;
  settings.retry_ms = 500;
  UpstreamHarness h(1, settings);
  const std::string timeout = "SERVER_ERROR upstream timeout\r\n";

  for (uint32_t attempt = 1; attempt <= 2; ++attempt) {
    SCOPED_TRACE(attempt);
    h.execute("get k\r\n");
    EXPECT_EQ(h.receive(0, "get k\r\n"), "get k\r\n");
    const int64_t deadline = h.reactor().now_ms() + 100;
    EXPECT_EQ(h.tier().next_deadline_ms(), deadline);
    h.reactor().set_now_ms(deadline - 1);
    h.tier().check_timeouts(h.reactor().now_ms());
    EXPECT_EQ(h.drain(), "") << "not yet due";
    h.reactor().set_now_ms(deadline);
    h.tier().check_timeouts(h.reactor().now_ms());
    EXPECT_EQ(h.drain(), timeout);
    EXPECT_EQ(h.tier().next_deadline_ms(), -1);
    EXPECT_EQ(h.upstream(0).consecutive_failures, attempt);
    EXPECT_EQ(h.upstream(0).down.load(), attempt == 2);
  }

  // Down: requests fail at once, without a connection attempt.
  const size_t connections = h.server(0).accepted();
  h.execute("get k\r\nset k 0 0 1\r\nx\r\n");
  const std::string unavailable = "SERVER_ERROR upstream unavailable\r\n";
  EXPECT_EQ(h.drain(), unavailable + unavailable);
  h.tier().flush();
  EXPECT_EQ(h.server(0).try_accept(), -1);
  EXPECT_EQ(h.server(0).accepted(), connections);

  // Retried once the delay has passed; one answer brings it back.
  h.reactor().advance_ms(500);
  h.execute("get k\r\n");
  EXPECT_EQ(h.receive(0, "get k\r\n"), "get k\r\n");
  h.reply(0, "END\r\n");
  EXPECT_EQ(h.client_reads(5), "END\r\n");
  EXPECT_FALSE(h.upstream(0).down);
  EXPECT_EQ(h.upstream(0).consecutive_failures, 0u);
}

TEST(UpstreamTier, RefusedConnectionFailsTheRequestAtOnce) {
  // A port bound but not listening refuses connections, and stays ours meanwhile.
  const int holder = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(holder, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ASSERT_EQ(bind(holder, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(getsockname(holder, reinterpret_cast<sockaddr*>(&address), &length), 0);

  test::FakeReactor reactor;
  BufferPool pool(16, 4096);
  PendingReplyPool replies(pool, 8, 4);
  const UpstreamAddress upstream{"127.0.0.1", ntohs(address.sin_port), 1};
  {
    UpstreamTier tier({&upstream, 1}, UpstreamSettings{}, pool, reactor, replies);
    ReplyQueue queue(pool, 8);
    queue.set_pending_pool(&replies);
    Request request;
    const std::string input = "get k\r\n";
    ASSERT_EQ(parse_header({input.data(), input.size()}, request).status,
              ParseResult::Status::kRequest);
    tier.execute(request, {}, queue, nullptr);
    const std::string error = "SERVER_ERROR upstream connection refused\r\n";
    std::string got;
    ASSERT_TRUE(test::run_until(reactor, [&] {
      tier.flush();
      got += test::drain_queue(queue);
      return got.size() >= error.size();
    }));
    EXPECT_EQ(got, error);
    EXPECT_EQ(tier.servers()[0].failures.get(), 1u);
  }
  close(holder);
}

TEST(UpstreamTier, NoreplyStorageIsFollowedByAnMnBarrierAndAnswersNothing) {
  UpstreamHarness h(1);
  h.execute("set k 0 0 1 noreply\r\nx\r\n");
  EXPECT_EQ(h.receive(0, "set k 0 0 1 noreply\r\nx\r\nmn\r\n"),
            "set k 0 0 1 noreply\r\nx\r\nmn\r\n");
  h.reply(0, "MN\r\n");
  ASSERT_TRUE(h.run_until([&] { return h.queue().empty(); }));
  EXPECT_EQ(h.drain(), "");
  EXPECT_EQ(h.replies().available(), h.replies().capacity());
}

TEST(UpstreamTier, QuietMetaCommandReportsOnlyWhatTheServerSays) {
  UpstreamHarness h(1);
  h.execute("ms k 1 q\r\nx\r\nmd gone q\r\n");
  EXPECT_EQ(h.receive(0, "ms k 1 q\r\nx\r\nmn\r\nmd gone q\r\nmn\r\n"),
            "ms k 1 q\r\nx\r\nmn\r\nmd gone q\r\nmn\r\n");
  // The set succeeded (nothing said); the delete missed and says so.
  h.reply(0, "MN\r\nNF\r\nMN\r\n");
  EXPECT_EQ(h.client_reads(4), "NF\r\n");
}

TEST(UpstreamTier, MetaNoopIsAnsweredLocally) {
  UpstreamHarness h(1);
  h.execute("mn\r\n");
  EXPECT_EQ(h.drain(), "MN\r\n");
  h.tier().flush();
  EXPECT_EQ(h.reactor().watched_count(), 0u) << "no connection was opened";
}

TEST(UpstreamTier, FlushAllGoesToEveryServerAndIsAnsweredOnce) {
  UpstreamHarness h(2);
  h.execute("flush_all\r\n");
  EXPECT_EQ(h.receive(0, "flush_all\r\n"), "flush_all\r\n");
  EXPECT_EQ(h.receive(1, "flush_all\r\n"), "flush_all\r\n");
  h.reply(1, "OK\r\n");
  h.reply(0, "OK\r\n");
  EXPECT_EQ(h.client_reads(4), "OK\r\n");
  ASSERT_TRUE(h.run_until([&] { return h.queue().empty(); }));
}

TEST(UpstreamTier, RepliesForAClientThatLeftAreDroppedAndTheirSlotsReturn) {
  UpstreamHarness h(1);
  h.execute("get a b c\r\n");
  EXPECT_EQ(h.receive(0, "get a b c\r\n"), "get a b c\r\n");
  EXPECT_EQ(h.replies().available(), h.replies().capacity() - 3);
  h.queue().clear();  // the client disconnected
  h.reply(0, "VALUE b 0 1\r\nx\r\nEND\r\n");
  ASSERT_TRUE(h.run_until([&] { return h.replies().available() == h.replies().capacity(); }));
  EXPECT_TRUE(h.reactor().woken().empty()) << "nobody to wake";
}

TEST(UpstreamTier, MultiGetWithMoreKeysThanSlotsIsRefused) {
  UpstreamHarness h(1);
  std::string request = "get";
  for (uint32_t i = 0; i <= h.replies().capacity(); ++i) request += " k" + std::to_string(i);
  Request parsed;
  request += "\r\n";
  ASSERT_EQ(parse_header({request.data(), request.size()}, parsed).status,
            ParseResult::Status::kRequest);
  EXPECT_TRUE(h.tier().can_accept(parsed, h.queue())) << "answered at once rather than waited for";
  h.tier().execute(parsed, {}, h.queue(), nullptr);
  EXPECT_EQ(h.drain(), "SERVER_ERROR too many keys\r\n");
}

TEST(UpstreamTier, RequestsOfOneClientShareAConnectionPerServer) {
  UpstreamSettings settings;
  settings.connections = 3;
  UpstreamHarness h(1, settings);
  h.execute("get a\r\nget b\r\nget c\r\n");
  EXPECT_EQ(h.receive(0, "get a b c\r\n"), "get a b c\r\n");
  EXPECT_EQ(h.server(0).accepted(), 1u);
}

}  // namespace
}  // namespace mcguard
