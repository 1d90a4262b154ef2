// Helpers the unit tests of proxy/core and above share: reply bytes taken out of a
// ReplyQueue or a Connection the way a kernel would take them (and, through
// chain_support.h, test bytes and chain contents). They allocate freely (std::string)
// and must stay out of the code paths that the allocation-counting tests measure.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "chain_support.h"

namespace mcguard {
class Connection;
class ReplyQueue;
}  // namespace mcguard

namespace mcguard::test {

// Takes everything the queue can send now, as the kernel would: at most `max_write` bytes
// per write over at most `max_iov` (<= 64) iovecs. Stops when the queue is empty or its
// next bytes wait on an upstream; returns the bytes in order.
std::string drain_queue(ReplyQueue& queue, size_t max_write = SIZE_MAX, size_t max_iov = 64);

// Appends to `output` every reply byte `connection` can send now, marking it written.
void drain_connection(Connection& connection, std::string& output);

}  // namespace mcguard::test
