// The deterministic fuzz driver: runs a target's LLVMFuzzerTestOneInput (the libFuzzer entry
// point, so the same file also builds as a libFuzzer binary) over its seed corpus, then over
// inputs mutated from the corpus by a fixed-seed PRNG — bit flips, byte edits, inserted and
// deleted runs, splices of two seeds, repeated chunks and deep nesting — for a bounded number
// of inputs and time. The same seed always gives the same inputs, so a failure reproduces; when
// the target aborts or crashes, the input that did it is written to fuzz-crash-input in the
// working directory first. Under the ASan+UBSan preset this is the CI fuzz run.
//
//   CIR_FUZZ_SEED (default 1), CIR_FUZZ_ITERATIONS (default 200000), CIR_FUZZ_SECONDS (60)
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

namespace fs = std::filesystem;

std::uint64_t EnvNumber(const char* name, std::uint64_t fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::strtoull(value, nullptr, 10) : fallback;
}

std::vector<std::string> Corpus() {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(CIR_FUZZ_CORPUS)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());  // directory order is not deterministic
  std::vector<std::string> seeds;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    seeds.push_back(bytes.str());
  }
  return seeds;
}

class Mutator {
 public:
  Mutator(std::uint64_t seed, const std::vector<std::string>& corpus)
      : rng_(seed), corpus_(corpus) {}

  std::string Next() {
    std::string s = corpus_[Pick(corpus_.size())];
    const std::size_t edits = 1 + Pick(8);
    for (std::size_t i = 0; i < edits; ++i) Edit(s);
    if (s.size() > kMaxSize) s.resize(kMaxSize);
    return s;
  }

 private:
  static constexpr std::size_t kMaxSize = 1 << 16;
  std::size_t Pick(std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(rng_() % n); }

  void Edit(std::string& s) {
    static const char* kTokens[] = {"{", "}", "[", "]", ",", ":", "\"", "\\", "\\u", "\\ud800",
                                    "null", "true", "1e999", "-0", "0.0000001", "\"events\"",
                                    "\"id\"", "\xC0\xAF", "\xFF", "\xED\xA0\x80", "\x00", "%2e%2e",
                                    "/..", "%2F", "%00", "'", "/*", "9999-12-31T23:59:59Z"};
    const std::size_t at = Pick(s.size() + 1);
    switch (Pick(9)) {
      case 0:  // flip a bit
        if (!s.empty()) s[Pick(s.size())] ^= static_cast<char>(1 << Pick(8));
        break;
      case 1:  // set a byte
        if (!s.empty()) s[Pick(s.size())] = static_cast<char>(Pick(256));
        break;
      case 2:  // delete a run
        if (!s.empty()) s.erase(Pick(s.size()), 1 + Pick(16));
        break;
      case 3: {  // insert a token
        const char* t = kTokens[Pick(sizeof kTokens / sizeof *kTokens)];
        s.insert(at, t, t[0] == '\0' ? 1 : std::char_traits<char>::length(t));
        break;
      }
      case 4: {  // duplicate a chunk
        if (s.empty()) break;
        const std::size_t from = Pick(s.size());
        const std::string chunk = s.substr(from, 1 + Pick(64));
        for (std::size_t n = 1 + Pick(4); n > 0; --n) s.insert(at, chunk);
        break;
      }
      case 5: {  // splice with another seed
        const std::string& other = corpus_[Pick(corpus_.size())];
        s = s.substr(0, at) + other.substr(Pick(other.size() + 1));
        break;
      }
      case 6: {  // wrap in deep nesting (around the depth limit, or far beyond it)
        const std::size_t depth = Pick(2) ? 60 + Pick(10) : 1 + Pick(5000);
        const bool object = Pick(2);
        std::string open, close;
        for (std::size_t i = 0; i < depth; ++i) {
          open += object ? "{\"a\":" : "[";
          close += object ? "}" : "]";
        }
        s = open + s + close;
        break;
      }
      case 7: {  // a random run of bytes
        std::string run(1 + Pick(16), '\0');
        for (char& c : run) c = static_cast<char>(Pick(256));
        s.insert(at, run);
        break;
      }
      default:  // truncate
        s.resize(at);
        break;
    }
  }

  std::mt19937_64 rng_;
  const std::vector<std::string>& corpus_;
};

const std::string* g_current = nullptr;

void OnCrash(int signal) {
  if (g_current != nullptr) {
    const int fd = ::open("fuzz-crash-input", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      (void)!::write(fd, g_current->data(), g_current->size());
      ::close(fd);
    }
  }
  std::signal(signal, SIG_DFL);
  std::raise(signal);
}

void RunOne(const std::string& input) {
  static const bool installed = [] {
    for (int s : {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL}) std::signal(s, OnCrash);
    return true;
  }();
  (void)installed;
  g_current = &input;
  LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
  g_current = nullptr;
}

TEST(Fuzz, SeedCorpus) {
  const auto corpus = Corpus();
  ASSERT_GE(corpus.size(), 5u) << CIR_FUZZ_CORPUS;
  for (const auto& seed : corpus) RunOne(seed);
}

TEST(Fuzz, MutatedInputs) {
  const auto corpus = Corpus();
  ASSERT_FALSE(corpus.empty());
  const std::uint64_t seed = EnvNumber("CIR_FUZZ_SEED", 1);
  const std::uint64_t iterations = EnvNumber("CIR_FUZZ_ITERATIONS", 200000);
  const auto until = std::chrono::steady_clock::now() +
                     std::chrono::seconds(EnvNumber("CIR_FUZZ_SECONDS", 60));
  Mutator mutator(seed, corpus);
  std::uint64_t ran = 0;
  for (; ran < iterations && std::chrono::steady_clock::now() < until; ++ran) {
    const std::string input = mutator.Next();
    RunOne(input);
  }
  g_current = nullptr;
  std::printf("fuzz: %llu inputs from seed %llu\n", static_cast<unsigned long long>(ran),
              static_cast<unsigned long long>(seed));
  EXPECT_GT(ran, 0u);
}

}  // namespace
