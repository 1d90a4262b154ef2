// Values of every interesting size, compared with memcached byte for byte:
// empty, one byte, around one I/O buffer (values that span buffers of a
// chain), 1 MiB, 5 MiB and exactly the configured maximum.
#include <thread>

#include "differential.h"

namespace mcguard::e2e {
namespace {

class Values : public DifferentialTest {
 protected:
  // set/get/gets/mg/ms round trips of a `size`-byte value; besides matching
  // memcached, the subject's get must return exactly the stored bytes.
  void round_trip(size_t size) {
    const std::string value = make_value(size, static_cast<uint32_t>(size));
    const std::string n = std::to_string(size);
    const std::string request = "set k 7 0 " + n + "\r\n" + value + "\r\nget k\r\n";
    Replies r = expect_same(request + "gets k\r\nmg k s f v\r\n", milliseconds(30000));
    const std::string expected_get = "STORED\r\nVALUE k 7 " + n + "\r\n" + value + "\r\nEND\r\n";
    EXPECT_TRUE(r.subject.bytes.compare(0, expected_get.size(), expected_get) == 0)
        << subject_name() << " did not return the stored " << size
        << "-byte value; reply starts: " << escape(r.subject.bytes.substr(0, 300));
    // The same through the meta protocol, and a second key so two copies live
    // side by side.
    expect_same("ms m " + n + " F3\r\n" + value + "\r\nmg m v f s\r\nget k m\r\n",
                milliseconds(30000));
  }
};

TEST_F(Values, Empty) { round_trip(0); }
TEST_F(Values, OneByte) { round_trip(1); }
TEST_F(Values, BufferSizeMinusOne) { round_trip(kBufferSize - 1); }
TEST_F(Values, BufferSize) { round_trip(kBufferSize); }
TEST_F(Values, BufferSizePlusOne) { round_trip(kBufferSize + 1); }
TEST_F(Values, OneMiB) { round_trip(1u << 20); }
TEST_F(Values, FiveMiB) { round_trip(5u << 20); }
TEST_F(Values, ExactlyMaxValueSize) { round_trip(kMaxValueSize); }

TEST_F(Values, AppendAndPrependAcrossBufferBoundaries) {
  const std::string a = make_value(kBufferSize - 1, 1);
  const std::string b = make_value(2, 2);
  const std::string c = make_value(kBufferSize + 7, 3);
  expect_same("set k 0 0 " + std::to_string(a.size()) + "\r\n" + a + "\r\nappend k 0 0 2\r\n" + b +
              "\r\nprepend k 0 0 " + std::to_string(c.size()) + "\r\n" + c +
              "\r\nget k\r\nmg k s\r\n");
}

TEST_F(Values, ManyLargeValuesPipelinedThenMultiGet) {
  std::string request;
  std::string get = "get";
  for (int i = 0; i < 12; ++i) {
    const std::string key = "big" + std::to_string(i);
    const std::string value = make_value(150000 + 4099 * static_cast<size_t>(i), 100 + i);
    request += "set " + key + " " + std::to_string(i) + " 0 " + std::to_string(value.size()) +
               "\r\n" + value + "\r\n";
    get += " " + key;
  }
  expect_same(request + get + "\r\n" + get + "\r\n", milliseconds(30000));
}

TEST_F(Values, LargeValueDeliveredSlowlyInPieces) {
  // A 1 MiB value trickles in over 20 writes; both servers must wait for all
  // of it and store it whole.
  const std::string value = make_value(1u << 20, 77);
  const std::string request = "set slow 0 0 " + std::to_string(value.size()) + "\r\n" + value;
  const size_t piece = request.size() / 20 + 1;
  for (size_t at = 0; at < request.size(); at += piece) {
    for (Side side : {Side::kReference, Side::kSubject}) {
      ASSERT_TRUE(client(side).send(std::string_view(request).substr(at, piece)));
    }
    std::this_thread::sleep_for(milliseconds(10));  // shapes the input; not a wait
  }
  expect_same("\r\nget slow\r\n", milliseconds(20000));
}

TEST_F(Values, LargeValueReadBySeveralClientsAtOnce) {
  const std::string value = make_value(3u << 20, 5);
  expect_same("set shared 0 0 " + std::to_string(value.size()) + "\r\n" + value + "\r\n");
  // Eight connections ask for it at once, then read their replies one by one,
  // so the server has to keep several large replies in flight.
  std::vector<Client> readers;
  for (int i = 0; i < 8; ++i) {
    auto c = Client::connect(subject_->port());
    ASSERT_TRUE(c.has_value());
    ASSERT_TRUE(c->send("get shared\r\n"));
    readers.push_back(std::move(*c));
  }
  const std::string expected =
      "VALUE shared 0 " + std::to_string(value.size()) + "\r\n" + value + "\r\nEND\r\n";
  for (auto& reader : readers) {
    ReadResult r = reader.read_exactly(expected.size(), milliseconds(20000));
    EXPECT_TRUE(r.bytes == expected) << "reply starts: " << escape(r.bytes.substr(0, 200));
  }
}

}  // namespace
}  // namespace mcguard::e2e
