// The one error type of cir: every fallible call returns cir::Result<T> (std::expected). Foreign
// error types (rocksdb::Status, rd_kafka_resp_err_t, protobuf parse failures) are converted at the
// edge of the component that meets them and never cross a component boundary.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace cir {

enum class ErrorCode {
  kInvalidArgument,     // bad input or configuration; the caller can fix it
  kNotFound,            // the thing asked for does not exist
  kFailedPrecondition,  // the system is not in a state that allows the call
  kCorruption,          // stored data broke an invariant
  kIo,                  // disk or network failure
  kUnavailable,         // try again later
  kInternal,            // a bug
};

[[nodiscard]] constexpr std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "INVALID_ARGUMENT";
    case ErrorCode::kNotFound: return "NOT_FOUND";
    case ErrorCode::kFailedPrecondition: return "FAILED_PRECONDITION";
    case ErrorCode::kCorruption: return "CORRUPTION";
    case ErrorCode::kIo: return "IO";
    case ErrorCode::kUnavailable: return "UNAVAILABLE";
    case ErrorCode::kInternal: return "INTERNAL";
  }
  return "UNKNOWN";
}

struct Error {
  ErrorCode code;
  std::string message;

  // "CODE: message", for logs and command-line output.
  [[nodiscard]] std::string ToString() const {
    return std::string(ErrorCodeName(code)) + ": " + message;
  }
};

template <class T>
using Result = std::expected<T, Error>;

[[nodiscard]] inline std::unexpected<Error> Fail(ErrorCode code, std::string message) {
  return std::unexpected<Error>(Error{code, std::move(message)});
}

}  // namespace cir
