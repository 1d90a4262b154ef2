#include "chain_support.h"

#include <span>

namespace mcguard::test {

std::string pattern(size_t n, char first) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(first + i % 26);
  return s;
}

size_t append(BufferChain& chain, std::string_view bytes) {
  return chain.append(std::span<const char>(bytes.data(), bytes.size()));
}

std::string contents(const BufferChain& chain) {
  std::string out(chain.length(), '\0');
  chain.copy_out(0, std::span<char>(out.data(), out.size()));
  return out;
}

std::string join(const iovec* iov, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out.append(static_cast<const char*>(iov[i].iov_base), iov[i].iov_len);
  }
  return out;
}

}  // namespace mcguard::test
