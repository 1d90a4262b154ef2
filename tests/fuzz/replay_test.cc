// Replays one fuzz target's inputs under CTest in every build, fuzzing or not:
// the seed corpus (tests/fuzz/corpus/<target>) and every input a fuzzer once
// crashed on (tests/fuzz/regressions/<target>), so a fixed bug stays fixed.
// The target's invariants abort on a violation, which fails the test.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

std::vector<std::filesystem::path> inputs_in(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

size_t replay(const std::filesystem::path& dir) {
  const auto files = inputs_in(dir);
  for (const auto& file : files) {
    SCOPED_TRACE(file.string());
    std::ifstream in(file, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // A copy of exactly the input's size, so ASan sees any read past its end.
    std::vector<uint8_t> input(bytes.begin(), bytes.end());
    LLVMFuzzerTestOneInput(input.data(), input.size());
  }
  return files.size();
}

const std::filesystem::path kFuzzDir = MCGUARD_FUZZ_DIR;

TEST(FuzzReplay, SeedCorpus) {
  EXPECT_GT(replay(kFuzzDir / "corpus" / MCGUARD_FUZZ_TARGET), 0u)
      << "no seed corpus for " << MCGUARD_FUZZ_TARGET;
}

TEST(FuzzReplay, Regressions) { replay(kFuzzDir / "regressions" / MCGUARD_FUZZ_TARGET); }

}  // namespace
