// The inputs named on circtl's command line: a file of JSON lines (replay, publish), the file
// or standard input and which of its lines are skipped; a register directory (offline commands).
#pragma once

#include <fstream>
#include <istream>
#include <ostream>
#include <memory>
#include <string>

#include "cir/storage/register.h"

namespace cir::services {

// The stream to read `path` from: standard input for "-", else `file` opened on it. Returns
// nullptr, with the error written to `err`, when the file cannot be read. The result points at
// std::cin or at `file`, which the caller owns and must keep open while reading.
[[nodiscard]] std::istream* OpenInput(const std::string& path, std::ifstream& file,
                                      std::ostream& err);

// The register in `dir` (created if missing when `create`), its clock `clock` (nullptr: the wall
// clock; must outlive the register). Returns nullptr, with the error written to `err`, when it
// cannot be opened.
[[nodiscard]] std::unique_ptr<storage::Register> OpenRegister(const std::string& dir, bool create,
                                                              bool sync,
                                                              const storage::Clock* clock,
                                                              std::ostream& err);

// True for a blank line (spaces, tabs, a CR) or a comment (starting with '#'): both skipped.
[[nodiscard]] bool IsSkippedLine(const std::string& line);

}  // namespace cir::services
