// Gathered stats groups and counted client groups in ReplyGroups: a slot per
// upstream, a failed upstream left out (and counted) rather than failing the
// group, the merged reply in the client's stream; a group all of whose
// upstreams failed answers SERVER_ERROR (plain stats: END). Client groups
// tagged with a CountAs are counted once as they complete, failures never.
#include "proxy/upstream/stats_gather.h"

#include <gtest/gtest.h>

#include <string>

#include "fake_reactor.h"
#include "proxy/upstream/reply_groups.h"
#include "test_support.h"

namespace mcguard {
namespace {

class StatsGatherTest : public ::testing::Test {
 protected:
  StatsGatherTest() {
    queue_.set_pending_pool(&replies_);
    queue_.set_owner_id(3);
  }

  PendingReply* open_gathered(GatheredStats kind, uint32_t upstreams) {
    PendingReply* leader = groups_.open(queue_, upstreams);
    leader->tag = gather_tag(kind);
    return leader;
  }

  test::FakeReactor reactor_;
  BufferPool pool_{16, 4096};
  PendingReplyPool replies_{pool_, 8, 4};
  UpstreamCommandStats stats_;
  ReplyGroups groups_{replies_, reactor_, &stats_};
  ReplyQueue queue_{pool_, 8};
};

TEST_F(StatsGatherTest, RepliesAreMergedAndAFailedUpstreamLeftOut) {
  PendingReply* a = open_gathered(GatheredStats::kSlabs, 3);
  PendingReply* b = a->next_in_group;
  PendingReply* c = b->next_in_group;
  ASSERT_TRUE(c->append("STAT 1:used_chunks 2\r\nSTAT total_malloced 5\r\nEND\r\n"));
  groups_.complete(c);
  groups_.fail(a, "upstream unavailable");
  EXPECT_EQ(test::drain_queue(queue_), "");
  ASSERT_TRUE(b->append("STAT 1:used_chunks 1\r\nSTAT total_malloced 7\r\nEND\r\n"));
  groups_.complete(b);
  EXPECT_EQ(test::drain_queue(queue_), "STAT 1:used_chunks 3\r\nSTAT total_malloced 12\r\nEND\r\n");
  EXPECT_EQ(stats_.stats_upstreams_skipped.get(), 1u);
  EXPECT_EQ(groups_.available(), 8u);
}

TEST_F(StatsGatherTest, NoUpstreamAnsweringIsAServerError) {
  PendingReply* a = open_gathered(GatheredStats::kCachedump, 2);
  groups_.fail(a->next_in_group, "upstream timeout");
  groups_.fail(a, "upstream unavailable");
  EXPECT_EQ(test::drain_queue(queue_), "SERVER_ERROR upstream timeout\r\n");
  EXPECT_EQ(stats_.stats_upstreams_skipped.get(), 2u);
}

TEST_F(StatsGatherTest, PlainStatsWithNoUpstreamEndsWithoutGatheredFigures) {
  PendingReply* a = open_gathered(GatheredStats::kGeneral, 1);
  groups_.fail(a, "upstream unavailable");
  EXPECT_EQ(test::drain_queue(queue_), "END\r\n");
}

TEST_F(StatsGatherTest, AnErrorLineFromTheUpstreamsIsTheAnswer) {
  PendingReply* a = open_gathered(GatheredStats::kCachedump, 2);
  ASSERT_TRUE(a->append("CLIENT_ERROR bad command line format\r\n"));
  ASSERT_TRUE(a->next_in_group->append("CLIENT_ERROR bad command line format\r\n"));
  groups_.complete(a);
  groups_.complete(a->next_in_group);
  EXPECT_EQ(test::drain_queue(queue_), "CLIENT_ERROR bad command line format\r\n");
}

TEST_F(StatsGatherTest, ALongMergedReplySpreadsOverTheGroupsSlots) {
  // Each slot holds at most 4 buffers of 4096 bytes; two servers' dumps of
  // 12 KB each make 24 KB, more than one slot holds.
  PendingReply* a = open_gathered(GatheredStats::kCachedump, 2);
  std::string dump_a, dump_b;
  for (int i = 0; i < 500; ++i) {
    dump_a += "ITEM a" + std::to_string(1000 + i) + " [1 b; 0 s]\r\n";
    dump_b += "ITEM b" + std::to_string(1000 + i) + " [1 b; 0 s]\r\n";
  }
  ASSERT_TRUE(a->append(dump_a + "END\r\n"));
  ASSERT_TRUE(a->next_in_group->append(dump_b + "END\r\n"));
  groups_.complete(a);
  groups_.complete(a->next_in_group);
  const std::string sent = test::drain_queue(queue_);
  EXPECT_EQ(sent.size(), dump_a.size() + dump_b.size() + 5);
  EXPECT_TRUE(sent == dump_a + dump_b + "END\r\n") << sent.substr(0, 200);
}

TEST_F(StatsGatherTest, ClientGroupsAreCountedOnceByTheirTag) {
  groups_.set_open_tag(static_cast<uint8_t>(CountAs::kGet));
  PendingReply* get = groups_.open(queue_, 3);
  groups_.set_open_tag(0);
  ASSERT_TRUE(get->append("VALUE a 0 1\r\nx\r\n"));
  ASSERT_TRUE(get->last->append("VALUE c 0 1\r\ny\r\n"));
  groups_.complete(get);
  groups_.complete(get->next_in_group);
  groups_.complete(get->last);
  EXPECT_EQ(stats_.get_hits.get(), 2u);
  EXPECT_EQ(stats_.get_misses.get(), 1u);

  groups_.set_open_tag(static_cast<uint8_t>(CountAs::kDelete));
  PendingReply* del = groups_.open(queue_, 1);
  ASSERT_TRUE(del->append("DELETED\r\n"));
  groups_.complete(del);
  PendingReply* failed = groups_.open(queue_, 1);
  groups_.set_open_tag(0);
  groups_.fail(failed, "upstream timeout");
  PendingReply* untagged = groups_.open(queue_, 1);
  ASSERT_TRUE(untagged->append("DELETED\r\n"));
  groups_.complete(untagged);
  EXPECT_EQ(stats_.delete_hits.get(), 1u);
  EXPECT_EQ(stats_.delete_misses.get(), 0u);
  test::drain_queue(queue_);
}

}  // namespace
}  // namespace mcguard
