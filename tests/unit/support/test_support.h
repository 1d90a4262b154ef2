// Helpers the unit tests share: test bytes, BufferChain contents, and reply bytes
// taken out of a ReplyQueue or a Connection the way a kernel would take them. They
// allocate freely (std::string) and must stay out of the code paths that the
// allocation-counting tests measure.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "pool/buffer_chain.h"

namespace mcguard {
class Connection;
class ReplyQueue;
}  // namespace mcguard

namespace mcguard::test {

// n bytes cycling through the alphabet from `first`: any misplaced byte shows.
std::string pattern(size_t n, char first = 'a');

// Appends `bytes` to `chain`; returns how many fit.
size_t append(BufferChain& chain, std::string_view bytes);

// The whole content of `chain`, copied out.
std::string contents(const BufferChain& chain);

// The bytes `n` iovecs point at, in order.
std::string join(const iovec* iov, size_t n);

// Takes everything the queue can send now, as the kernel would: at most `max_write` bytes
// per write over at most `max_iov` (<= 64) iovecs. Stops when the queue is empty or its
// next bytes wait on an upstream; returns the bytes in order.
std::string drain_queue(ReplyQueue& queue, size_t max_write = SIZE_MAX, size_t max_iov = 64);

// Appends to `output` every reply byte `connection` can send now, marking it written.
void drain_connection(Connection& connection, std::string& output);

}  // namespace mcguard::test
