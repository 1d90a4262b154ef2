// Helpers the unit tests of every layer share: test bytes and BufferChain contents.
// They allocate freely (std::string) and must stay out of the code paths that the
// allocation-counting tests measure. Only pool/ below them.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "pool/buffer_chain.h"

namespace mcguard::test {

// n bytes cycling through the alphabet from `first`: any misplaced byte shows.
std::string pattern(size_t n, char first = 'a');

// Appends `bytes` to `chain`; returns how many fit.
size_t append(BufferChain& chain, std::string_view bytes);

// The whole content of `chain`, copied out.
std::string contents(const BufferChain& chain);

// The bytes `n` iovecs point at, in order.
std::string join(const iovec* iov, size_t n);

}  // namespace mcguard::test
