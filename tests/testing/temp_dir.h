// A fresh directory per test under the system's temporary directory, removed with everything in
// it when the object goes; and a register opened in one. Header-only.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <memory>
#include <string>

#include "cir/storage/register.h"

namespace cir::testing {

class TempDir {
 public:
  // `prefix` names the suite in the directory's name ("cir-<prefix>-XXXXXX").
  explicit TempDir(const std::string& prefix) {
    std::string pattern =
        (std::filesystem::temp_directory_path() / ("cir-" + prefix + "-XXXXXX")).string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp " + pattern);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A register in `dir`/register (created). Throws when it cannot be opened: the test cannot run.
inline std::unique_ptr<storage::Register> OpenTestRegister(const TempDir& dir) {
  storage::Options options;
  options.path = (dir.path() / "register").string();
  auto reg = storage::Register::Open(options);
  if (!reg) throw std::runtime_error("cannot open a test register: " + reg.error().ToString());
  return std::move(*reg);
}

}  // namespace cir::testing
