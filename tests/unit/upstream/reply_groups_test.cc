// ReplyGroups: a request's slots are sent only once all are complete, in the order they
// were queued; a failure replaces the group with one SERVER_ERROR line; get groups end
// with one END; noreply groups say nothing; a client that left gets nothing and its
// slots go back to the pool.
#include "proxy/upstream/reply_groups.h"

#include <gtest/gtest.h>

#include <string>

#include "fake_reactor.h"
#include "test_support.h"

namespace mcguard {
namespace {

constexpr int kClient = 9;

class ReplyGroupsTest : public ::testing::Test {
 protected:
  ReplyGroupsTest() {
    queue_.set_pending_pool(&replies_);
    queue_.set_owner_id(kClient);
  }

  // The slots of a group, leader first.
  std::vector<PendingReply*> slots(PendingReply* leader) {
    std::vector<PendingReply*> out;
    for (PendingReply* slot = leader; slot != nullptr; slot = slot->next_in_group)
      out.push_back(slot);
    return out;
  }

  test::FakeReactor reactor_;
  BufferPool pool_{16, 4096};
  PendingReplyPool replies_{pool_, 8, 4};
  ReplyGroups groups_{replies_, reactor_};
  ReplyQueue queue_{pool_, 8};
};

TEST_F(ReplyGroupsTest, GroupIsSentOnlyOnceEverySlotIsComplete) {
  PendingReply* leader = groups_.open(queue_, 3);
  ASSERT_NE(leader, nullptr);
  const auto group = slots(leader);
  ASSERT_EQ(group.size(), 3u);
  EXPECT_EQ(groups_.available(), 5u);
  for (size_t i = 0; i < 3; ++i) ASSERT_TRUE(group[i]->append(std::string(1, 'A' + i)));

  groups_.complete(group[2]);
  groups_.complete(group[0]);
  EXPECT_EQ(test::drain_queue(queue_), "");
  EXPECT_TRUE(reactor_.woken().empty());
  groups_.complete(group[1]);
  EXPECT_EQ(reactor_.woken(), std::vector<int>{kClient});
  EXPECT_EQ(test::drain_queue(queue_), "ABC");
  EXPECT_TRUE(queue_.empty());
  EXPECT_EQ(groups_.available(), 8u) << "sent slots go back to the pool";
}

TEST_F(ReplyGroupsTest, CompletingASlotTwiceCountsOnce) {
  PendingReply* leader = groups_.open(queue_, 2);
  ASSERT_NE(leader, nullptr);
  groups_.complete(leader);
  groups_.complete(leader);
  EXPECT_FALSE(leader->group_done);
  groups_.complete(leader->next_in_group);
  EXPECT_TRUE(leader->group_done);
}

TEST_F(ReplyGroupsTest, FailureReplacesTheGroupWithOneServerErrorLine) {
  PendingReply* leader = groups_.open(queue_, 3);
  ASSERT_NE(leader, nullptr);
  const auto group = slots(leader);
  ASSERT_TRUE(group[0]->append("VALUE a 0 1\r\nx\r\n"));
  groups_.complete(group[0]);
  groups_.fail(group[1], "upstream timeout");
  groups_.fail(group[2], "upstream closed the connection");  // the first reason wins
  EXPECT_EQ(test::drain_queue(queue_), "SERVER_ERROR upstream timeout\r\n");
  EXPECT_EQ(groups_.available(), 8u);
}

TEST_F(ReplyGroupsTest, GetGroupEndsWithOneEnd) {
  PendingReply* leader = groups_.open(queue_, 2);
  ASSERT_NE(leader, nullptr);
  leader->end_with_end = true;
  ASSERT_TRUE(leader->next_in_group->append("VALUE b 0 1\r\nx\r\n"));
  groups_.complete(leader->next_in_group);
  groups_.complete(leader);  // a miss: no bytes
  EXPECT_EQ(test::drain_queue(queue_), "VALUE b 0 1\r\nx\r\nEND\r\n");
}

TEST_F(ReplyGroupsTest, FailedGetGroupHasNoEnd) {
  PendingReply* leader = groups_.open(queue_, 1);
  ASSERT_NE(leader, nullptr);
  leader->end_with_end = true;
  groups_.fail(leader, "upstream unavailable");
  EXPECT_EQ(test::drain_queue(queue_), "SERVER_ERROR upstream unavailable\r\n");
}

TEST_F(ReplyGroupsTest, SilentGroupSendsNothingEvenWhenItFails) {
  PendingReply* ok = groups_.open(queue_, 1);
  PendingReply* failed = groups_.open(queue_, 1);
  ASSERT_NE(ok, nullptr);
  ASSERT_NE(failed, nullptr);
  ok->silent = failed->silent = true;
  ASSERT_TRUE(ok->append("STORED\r\n"));
  groups_.complete(ok);
  groups_.fail(failed, "upstream timeout");
  EXPECT_EQ(test::drain_queue(queue_), "");
  EXPECT_TRUE(queue_.empty());
  EXPECT_EQ(groups_.available(), 8u);
}

TEST_F(ReplyGroupsTest, CollapsedGroupKeepsOnlyTheLeadersReply) {
  PendingReply* leader = groups_.open(queue_, 3);
  ASSERT_NE(leader, nullptr);
  leader->collapse = true;
  for (PendingReply* slot : slots(leader)) {
    ASSERT_TRUE(slot->append("OK\r\n"));
    groups_.complete(slot);
  }
  EXPECT_EQ(test::drain_queue(queue_), "OK\r\n");
}

TEST_F(ReplyGroupsTest, LaterGroupWaitsForAnEarlierOne) {
  PendingReply* first = groups_.open(queue_, 1);
  ASSERT_TRUE(queue_.append_text("local\r\n"));
  PendingReply* second = groups_.open(queue_, 1);
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  ASSERT_TRUE(second->append("second\r\n"));
  groups_.complete(second);
  EXPECT_EQ(test::drain_queue(queue_), "");
  ASSERT_TRUE(first->append("first\r\n"));
  groups_.complete(first);
  EXPECT_EQ(test::drain_queue(queue_), "first\r\nlocal\r\nsecond\r\n");
}

TEST_F(ReplyGroupsTest, OpenFailsWithoutTakingSlotsWhenThePoolIsShort) {
  EXPECT_EQ(groups_.open(queue_, 0), nullptr);
  EXPECT_EQ(groups_.open(queue_, 9), nullptr);
  EXPECT_EQ(groups_.available(), 8u);
  EXPECT_TRUE(queue_.empty());
  PendingReply* all = groups_.open(queue_, 8);
  ASSERT_NE(all, nullptr);
  EXPECT_EQ(groups_.available(), 0u);
  EXPECT_EQ(groups_.open(queue_, 1), nullptr);
  for (PendingReply* slot : slots(all)) groups_.complete(slot);
  EXPECT_EQ(test::drain_queue(queue_), "");
  EXPECT_EQ(groups_.available(), 8u);
}

TEST_F(ReplyGroupsTest, SlotsOfAClientThatLeftReturnToThePoolWhenDone) {
  PendingReply* leader = groups_.open(queue_, 2);
  ASSERT_NE(leader, nullptr);
  queue_.clear();  // the client disconnected with the group in flight
  EXPECT_EQ(groups_.available(), 6u) << "still owed by the upstream";
  ASSERT_TRUE(leader->append("VALUE a 0 1\r\nx\r\n"));
  groups_.complete(leader);
  groups_.fail(leader->next_in_group, "upstream timeout");
  EXPECT_EQ(groups_.available(), 8u);
  EXPECT_TRUE(reactor_.woken().empty());
}

}  // namespace
}  // namespace mcguard
