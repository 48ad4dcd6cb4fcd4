// See input.h.
#include "input.h"

#include <iostream>

namespace cir::services {

std::istream* OpenInput(const std::string& path, std::ifstream& file, std::ostream& err) {
  if (path == "-") return &std::cin;
  file.open(path);
  if (!file) {
    err << "circtl: cannot read '" << path << "'\n";
    return nullptr;
  }
  return &file;
}

std::unique_ptr<storage::Register> OpenRegister(const std::string& dir, bool create, bool sync,
                                                const storage::Clock* clock, std::ostream& err) {
  storage::Options options;
  options.path = dir;
  options.create_if_missing = create;
  options.sync = sync;
  options.clock = clock;
  auto opened = storage::Register::Open(options);
  if (!opened) {
    err << "circtl: cannot open register '" << dir << "': " << opened.error().ToString() << "\n";
    return nullptr;
  }
  return std::move(*opened);
}

bool IsSkippedLine(const std::string& line) {
  return line.find_first_not_of(" \t\r") == std::string::npos || line[0] == '#';
}

}  // namespace cir::services
