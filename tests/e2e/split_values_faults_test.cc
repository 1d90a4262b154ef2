// Split values under trouble: two writers overwriting one key while two
// readers read it (every read is one whole value or a miss, never mixed bytes
// and never cut off), a read under way when its value is overwritten (it still
// gets the whole old value: old chunks outlive their index by
// --upstream-split-grace), an upstream restarted under stored split values
// (each read is the exact value or a miss, and mcguard counts the incomplete
// ones), sixteen slow readers of a 16 MiB value (mcguard's RSS stays within
// its pools plus a fixed allowance, and each gets the whole value), and gat
// with few reply slots left.
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <mutex>
#include <thread>

#include "split_support.h"

namespace mcguard::e2e {
namespace {

constexpr long kKib = 1024;  // KiB in a MiB: VmRSS is in KiB

// True when `received` is a prefix of one of `replies`.
bool prefix_of_any(std::string_view received, const std::vector<std::string>& replies) {
  for (const std::string& reply : replies) {
    if (received.size() <= reply.size() && reply.compare(0, received.size(), received) == 0) {
      return true;
    }
  }
  return false;
}

class SplitValuesFaults : public SplitTest {};

TEST_F(SplitValuesFaults, OverwriteRaceNeverMixesTwoValues) {
  // Old chunks outlive their index by far longer than any read here takes.
  ASSERT_NO_FATAL_FAILURE(start_split_proxy({"--upstream-split-grace", "60s"}));
  constexpr int kWrites = 10;  // per writer
  constexpr int kReads = 24;   // per reader
  // Distinct lengths and flags, and bytes that differ everywhere.
  const std::string values[2] = {random_value(3 * kMiB, 201), random_value(5 * kMiB, 202)};
  const uint32_t flags[2] = {1, 2};
  const std::vector<std::string> replies = {
      value_block("race", values[0], flags[0]) + "END\r\nMN\r\n",
      value_block("race", values[1], flags[1]) + "END\r\nMN\r\n", "END\r\nMN\r\n"};
  {
    Client c = connect_proxy();
    ASSERT_EQ(store(c, storage_command("set", "race", values[0], flags[0])), "STORED\r\n");
  }
  std::atomic<int> hits[2] = {0, 0};
  std::atomic<int> misses{0}, closes{0}, stored{0};
  std::mutex mutex;
  std::vector<std::string> errors;
  auto record = [&](std::string error) {
    std::lock_guard lock(mutex);
    if (errors.size() < 10) errors.push_back(std::move(error));
  };
  std::vector<std::thread> threads;
  for (int w = 0; w < 2; ++w) {
    threads.emplace_back([&, w] {
      Client c = connect_proxy();
      for (int n = 0; n < kWrites; ++n) {
        const std::string reply = store(c, storage_command("set", "race", values[w], flags[w]));
        if (reply != "STORED\r\n") {
          return record("writer " + std::to_string(w) + " set " + std::to_string(n) + ": " +
                        escape(reply, 200));
        }
        ++stored;
      }
    });
  }
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      Client c = connect_proxy();
      for (int n = 0; n < kReads; ++n) {
        ReadResult got = ask(c, "get race\r\n", milliseconds(30000));
        const std::string who = "reader " + std::to_string(r) + " read " + std::to_string(n);
        if (got.closed) {
          // Old chunks stay through the grace period, so no read is cut off.
          record(who + ": closed after " + std::to_string(got.bytes.size()) + " bytes" +
                 (prefix_of_any(got.bytes, replies) ? "" : " that are no prefix of either value"));
          ++closes;
          c = connect_proxy();
          continue;
        }
        if (got.bytes == replies[0]) {
          ++hits[0];
        } else if (got.bytes == replies[1]) {
          ++hits[1];
        } else if (got.bytes == replies[2]) {
          ++misses;
        } else {
          return record(who + (got.timed_out ? " timed out" : "") + ": " +
                        std::to_string(got.bytes.size()) +
                        " bytes, neither value nor a miss: " + escape(got.bytes.substr(0, 120)));
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  std::printf(
      "[ INFO     ] %d sets; reads: %d of the 3 MiB value, %d of the 5 MiB value, %d misses, %d "
      "closed; incomplete misses %lld, closes %lld\n",
      stored.load(), hits[0].load(), hits[1].load(), misses.load(), closes.load(),
      proxy_stat("mcguard_split_incomplete_misses"), proxy_stat("mcguard_split_incomplete_closes"));
  for (const std::string& e : errors) ADD_FAILURE() << e;
  EXPECT_EQ(stored.load(), 2 * kWrites);
  EXPECT_GT(hits[0] + hits[1], 0) << "no read saw a whole value: the test proves nothing";

  // Once the writers are done, the last value stored is whole.
  Client c = connect_proxy();
  ReadResult last = ask(c, "get race\r\n", milliseconds(30000));
  EXPECT_TRUE(last.bytes == replies[0] || last.bytes == replies[1])
      << "after the race: " << last.bytes.size() << " bytes: " << escape(last.bytes.substr(0, 120));
  EXPECT_EQ(closes.load(), 0);
  EXPECT_EQ(proxy_stat("mcguard_split_incomplete_closes"), 0);
  auto layout = layout_of("race");
  ASSERT_TRUE(layout.has_value());
  EXPECT_TRUE(layout->complete());
}

TEST_F(SplitValuesFaults, AReadUnderWayWhenTheValueIsOverwrittenGetsTheWholeOldValue) {
  McguardOptions options = split_options();
  options.threads = 1;
  ASSERT_NO_FATAL_FAILURE(start_split_proxy({"--upstream-split-grace", "60s"}, options));
  const std::string old_value = random_value(16 * kMiB, 211);
  const std::string new_value = random_value(3 * kMiB, 212);
  Client writer = connect_proxy();
  auto old_layout = store_split(writer, "inflight", old_value, 7);
  ASSERT_TRUE(old_layout.has_value());
  const std::string expected = value_block("inflight", old_value, 7) + "END\r\n";

  // A reader whose small receive buffer is not read: its reply has begun,
  // and most of the old value's chunks are still to be fetched.
  Client reader = connect_proxy();
  const int small = 64 * 1024;
  ASSERT_EQ(::setsockopt(reader.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
  ASSERT_TRUE(reader.send("get inflight\r\n"));
  int queued = 0;
  ASSERT_TRUE(wait_until([&] { return ::ioctl(reader.fd(), FIONREAD, &queued) == 0 && queued > 0; },
                         milliseconds(10000), milliseconds(5)))
      << "the reply never began";
  const long long chunks_read_before = proxy_stat("mcguard_split_chunks_read");

  ASSERT_EQ(store(writer, storage_command("set", "inflight", new_value, 8)), "STORED\r\n");
  auto new_layout = layout_of("inflight");
  ASSERT_TRUE(new_layout.has_value());
  EXPECT_NE(new_layout->manifest.generation, old_layout->manifest.generation);
  // Within the grace period the old chunks are all still there.
  EXPECT_EQ(live_chunks(*old_layout), static_cast<long long>(old_layout->manifest.chunk_count));

  ReadResult got = reader.read_exactly(expected.size(), milliseconds(30000));
  std::printf("[ INFO     ] %lld of %u chunks were fetched when the overwrite was stored\n",
              chunks_read_before, old_layout->manifest.chunk_count);
  EXPECT_LT(chunks_read_before, static_cast<long long>(old_layout->manifest.chunk_count))
      << "the read had finished fetching before the overwrite: the test proves nothing";
  EXPECT_FALSE(got.closed);
  expect_same_bytes(got.bytes, expected, "the read begun before the overwrite");
  EXPECT_EQ(proxy_stat("mcguard_split_incomplete_closes"), 0);
  std::optional<Item> now = fetch(writer, "get inflight\r\n");
  ASSERT_TRUE(now.has_value());
  EXPECT_EQ(now->flags, 8u);
  expect_same_bytes(now->value, new_value, "after the overwrite");
}

TEST_F(SplitValuesFaults, UpstreamRestartTurnsIncompleteValuesIntoMisses) {
  ASSERT_NO_FATAL_FAILURE(start_split_proxy());
  Client c = connect_proxy();
  constexpr int kValues = 8;
  std::vector<std::string> keys, values;
  std::vector<SplitLayout> layouts;
  for (int i = 0; i < kValues; ++i) {
    keys.push_back("kept" + std::to_string(i));
    values.push_back(random_value(i % 2 == 0 ? 3 * kMiB : kSplitThreshold + 1, 400 + i));
    ASSERT_EQ(store(c, storage_command("set", keys[i], values[i], 100 + i)), "STORED\r\n");
    auto layout = layout_of(keys[i]);
    ASSERT_TRUE(layout.has_value());
    ASSERT_TRUE(layout->complete());
    layouts.push_back(*layout);
  }
  // Restart the server that leaves the most values incomplete (an index
  // elsewhere naming a chunk on it), preferring one that leaves a value whole.
  int restarted = -1;
  std::pair<bool, int> most{false, 0};
  for (int s = 0; s < 3; ++s) {
    int incomplete = 0, untouched = 0;
    for (const auto& l : layouts) {
      incomplete += l.index_server != s && l.touches(s) ? 1 : 0;
      untouched += l.touches(s) ? 0 : 1;
    }
    const std::pair<bool, int> score{untouched > 0, incomplete};
    if (incomplete > 0 && (restarted < 0 || score > most)) {
      most = score;
      restarted = s;
    }
  }
  ASSERT_GE(restarted, 0) << "no server holds a chunk of a value indexed elsewhere";
  std::vector<bool> whole(kValues);
  int expected_incomplete = 0, expected_whole = 0;
  for (int i = 0; i < kValues; ++i) {
    whole[i] = !layouts[i].touches(restarted);
    expected_whole += whole[i] ? 1 : 0;
    expected_incomplete += !whole[i] && layouts[i].index_server != restarted ? 1 : 0;
  }
  // A small key the restarted server owns tells when mcguard uses it again.
  std::string probe;
  for (int n = 0; n < 200 && probe.empty(); ++n) {
    const std::string key = "probe" + std::to_string(n);
    ASSERT_EQ(store(c, set_command(key, "p")), "STORED\r\n");
    if (owner_of(key) == restarted) probe = key;
  }
  ASSERT_FALSE(probe.empty()) << "no probe key landed on upstream " << restarted;
  const long long misses_before = proxy_stat("mcguard_split_incomplete_misses");
  const long long closes_before = proxy_stat("mcguard_split_incomplete_closes");

  ASSERT_NO_FATAL_FAILURE(kill_upstream(restarted));
  ASSERT_NO_FATAL_FAILURE(restart_small_upstream(restarted));
  ASSERT_TRUE(wait_until(
      [&] {
        Client p = connect_proxy();
        return store(p, set_command(probe, "back")) == "STORED\r\n" &&
               direct_item(restarted, probe).has_value();
      },
      milliseconds(15000), milliseconds(50)))
      << "mcguard did not use the restarted upstream " << restarted << " within 15 s";

  // One get each, then all in one multi-get: the exact value, or a miss.
  int closed = 0;
  std::string multi = "get";
  std::string multi_expected;
  for (int i = 0; i < kValues; ++i) {
    SCOPED_TRACE(keys[i] + (whole[i] ? " (whole)" : " (incomplete)"));
    const std::string hit = value_block(keys[i], values[i], 100 + i) + "END\r\nMN\r\n";
    ReadResult r = ask(c, "get " + keys[i] + "\r\n", milliseconds(30000));
    if (r.closed) {
      EXPECT_FALSE(whole[i]) << "closed while reading a value whose chunks are all there";
      EXPECT_TRUE(prefix_of_any(r.bytes, {hit})) << "wrong bytes before the close";
      ++closed;
      c = connect_proxy();
    } else if (whole[i]) {
      expect_same_bytes(r.bytes, hit, "a value untouched by the restart");
    } else {
      EXPECT_EQ(escape(r.bytes, 200), escape("END\r\nMN\r\n"))
          << "a value missing parts was served";
    }
    multi += " " + keys[i];
    if (whole[i]) multi_expected += value_block(keys[i], values[i], 100 + i);
  }
  ReadResult r = ask(c, multi + "\r\n", milliseconds(60000));
  EXPECT_FALSE(r.closed) << "the multi-get was closed";
  expect_same_bytes(r.bytes, multi_expected + "END\r\nMN\r\n", "the multi-get after the restart");

  const long long misses = proxy_stat("mcguard_split_incomplete_misses") - misses_before;
  const long long closes = proxy_stat("mcguard_split_incomplete_closes") - closes_before;
  std::printf(
      "[ INFO     ] restarted upstream %d: %d of %d values whole, %d indexed elsewhere with a "
      "chunk "
      "there; incomplete misses +%lld, closes +%lld\n",
      restarted, expected_whole, kValues, expected_incomplete, misses, closes);
  EXPECT_EQ(closed, 0) << "chunks are checked before the value starts: a miss, not a close";
  EXPECT_EQ(misses + closes, 2 * expected_incomplete)
      << "each read of a value indexed elsewhere with a chunk gone counts once";
}

TEST_F(SplitValuesFaults, SlowReadersOf16MiBStayWithinThePoolsAndGetWholeValues) {
  // Sixteen readers of one 16 MiB value on a single worker whose reply pool
  // (the smallest mcguard accepts for -I 16m) holds about 17 chunks: reads
  // must wait for room, not hold values whole, and every reader still gets
  // the whole value once it reads.
  constexpr int kReaders = 16;
  constexpr long kPoolMib = 64, kReplyPoolMib = 17, kAllowanceMib = 64;
  McguardOptions options = split_options();
  options.threads = 1;
  options.pool_size = std::to_string(kPoolMib) + "m";
  ASSERT_NO_FATAL_FAILURE(
      start_split_proxy({"--reply-pool-size", std::to_string(kReplyPoolMib) + "m"}, options));
  const std::string value = random_value(16 * kMiB, 301);
  const std::string expected = value_block("huge", value, 0x8000) + "END\r\n";
  {
    Client w = connect_proxy();
    ASSERT_EQ(store(w, storage_command("set", "huge", value, 0x8000)), "STORED\r\n");
  }
  const long rss_before = proxy_->rss_kib().value_or(-1);
  long rss_max = rss_before;
  auto sample = [&] { rss_max = std::max(rss_max, proxy_->rss_kib().value_or(-1)); };
  const long long chunks_before = proxy_stat("mcguard_split_chunks_read");

  // Sixteen gets, each on a connection with a small receive buffer that is
  // not read for now: mcguard can only hold the replies or stop fetching.
  std::vector<Client> readers;
  for (int i = 0; i < kReaders; ++i) {
    readers.push_back(connect_proxy());
    const int small = 64 * 1024;
    ASSERT_EQ(::setsockopt(readers.back().fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
    ASSERT_TRUE(readers.back().send("get huge\r\n"));
  }
  // Stalled with the reply pool under pressure: at least a pool's worth of
  // chunks has been fetched.
  long long chunks_stalled = 0;
  const bool pressed = wait_until(
      [&] {
        sample();
        chunks_stalled = proxy_stat("mcguard_split_chunks_read") - chunks_before;
        return chunks_stalled >= kReaders;
      },
      milliseconds(20000), milliseconds(10));
  for (int i = 0; i < 50; ++i) {
    sample();
    std::this_thread::sleep_for(milliseconds(10));  // RSS samples while stalled, not a wait
  }
  const long rss_stalled = rss_max;
  chunks_stalled = proxy_stat("mcguard_split_chunks_read") - chunks_before;
  int started = 0;
  for (const Client& c : readers) {
    int n = 0;
    started += ::ioctl(c.fd(), FIONREAD, &n) == 0 && n > 0 ? 1 : 0;
  }

  // Then each reads in small pieces with pauses.
  std::atomic<int> done{0};
  std::vector<std::string> received(kReaders);
  std::vector<char> closed(kReaders, 0);
  std::vector<std::thread> threads;
  for (int i = 0; i < kReaders; ++i) {
    threads.emplace_back([&, i] {
      const auto deadline = Clock::now() + milliseconds(60000);
      std::vector<char> buf(16 * 1024);
      while (received[i].size() < expected.size() && Clock::now() < deadline) {
        pollfd p{readers[i].fd(), POLLIN, 0};
        if (::poll(&p, 1, 1000) <= 0) continue;
        const ssize_t n = ::recv(readers[i].fd(), buf.data(), buf.size(), MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
          closed[i] = 1;
          break;
        }
        if (n > 0) received[i].append(buf.data(), static_cast<size_t>(n));
        if (received[i] == "END\r\n") break;                          // a miss: the whole reply
        std::this_thread::sleep_for(std::chrono::microseconds(200));  // a slow reader
      }
      ++done;
    });
  }
  const bool finished = wait_until(
      [&] {
        sample();
        return done.load() == kReaders;
      },
      milliseconds(90000), milliseconds(10));
  for (auto& t : threads) t.join();
  sample();

  const long budget = (kPoolMib + kReplyPoolMib + kAllowanceMib) * kKib;
  std::printf(
      "[ INFO     ] %d readers of a 16 MiB split value: VmRSS %ld KiB before, %ld KiB max while "
      "stalled, %ld KiB max overall (budget %ld KiB = pool %ld MiB + reply pool %ld MiB + %ld "
      "MiB); while stalled %lld chunks read, %d readers had bytes; split gets %lld, incomplete "
      "misses %lld, closes %lld\n",
      kReaders, rss_before, rss_stalled, rss_max, budget, kPoolMib, kReplyPoolMib, kAllowanceMib,
      chunks_stalled, started, proxy_stat("mcguard_split_gets"),
      proxy_stat("mcguard_split_incomplete_misses"), proxy_stat("mcguard_split_incomplete_closes"));
  EXPECT_TRUE(pressed) << "only " << chunks_stalled << " chunks read in 20 s";
  EXPECT_TRUE(finished) << "readers still reading after 90 s";
  EXPECT_GT(rss_max, 0);
  EXPECT_LE(rss_stalled, budget);
  EXPECT_LE(rss_max, budget);
  // The value is whole on the servers: a miss or a close here is mcguard's doing.
  for (int i = 0; i < kReaders; ++i) {
    SCOPED_TRACE("reader " + std::to_string(i) + (closed[i] ? " (closed)" : ""));
    expect_same_bytes(received[i], expected, "the slowly read value");
  }
  EXPECT_EQ(proxy_stat("mcguard_split_gets"), kReaders);
  EXPECT_EQ(proxy_stat("mcguard_split_incomplete_misses"), 0);
  EXPECT_EQ(proxy_stat("mcguard_split_incomplete_closes"), 0);
}

TEST_F(SplitValuesFaults, GatTouchesEveryChunkWithFewReplySlotsLeft) {
  // 16 replies awaited at once per worker, and a value of 13 chunks: writing
  // it fits, but there is no room for the read's existence checks (the
  // chunk count plus the window), which is where gat touches the chunks.
  ASSERT_NO_FATAL_FAILURE(start_split_proxy({"--upstream-max-pending", "16"}, [] {
    McguardOptions o = split_options();
    o.threads = 1;
    return o;
  }()));
  Client c = connect_proxy();
  const std::string value = random_value(12 * kMiB, 501);
  ASSERT_EQ(store(c, storage_command("set", "gat-few", value, 8, 2)), "STORED\r\n");
  auto layout = layout_of("gat-few");
  ASSERT_TRUE(layout.has_value());
  ASSERT_TRUE(layout->complete());
  // Items set on each server after the value, with its exptime.
  for (int i = 0; i < 3; ++i) {
    Client direct = connect_upstream(i);
    ASSERT_EQ(store(direct, storage_command("set", "sentinel", "s", 0, 2)), "STORED\r\n");
  }
  std::optional<Item> got = fetch(c, "gat 300 gat-few\r\n");
  ASSERT_TRUE(got.has_value()) << "gat missed a value just stored";
  expect_same_bytes(got->value, value, "gat");
  ASSERT_TRUE(wait_until(
      [&] {
        for (int i = 0; i < 3; ++i) {
          if (direct_item(i, "sentinel")) return false;
        }
        return true;
      },
      milliseconds(10000), milliseconds(50)))
      << "2 s sentinels alive after 10 s";
  EXPECT_EQ(live_chunks(*layout), static_cast<int>(layout->manifest.chunk_count))
      << "gat 300 left chunks with the old 2 s exptime";
  got = fetch(c, "get gat-few\r\n");
  ASSERT_TRUE(got.has_value()) << "gat 300 did not keep the value past its old exptime";
  expect_same_bytes(got->value, value, "get after the old exptime");
}

}  // namespace
}  // namespace mcguard::e2e
