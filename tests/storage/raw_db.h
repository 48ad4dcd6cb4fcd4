// Test-only access to the RocksDB database under a (closed) register, through storage's internal
// header: to corrupt it on purpose, or to scan it whole.
#pragma once

#include <stdexcept>
#include <string>

#include "db.h"    // storage/src: internal
#include "keys.h"  // storage/src: internal

namespace cir::storage::testing {

namespace internal = ::cir::storage::internal;

// Unwraps a Result, turning an error into an exception (a test failure naming it).
template <class T>
T Value(Result<T> result) {
  if (!result) throw std::runtime_error(result.error().ToString());
  return std::move(*result);
}
inline void Ok(const Result<void>& result) {
  if (!result) throw std::runtime_error(result.error().ToString());
}

inline std::unique_ptr<internal::Db> OpenRaw(const Options& options) {
  return Value(internal::Db::Open(options));
}

inline void RawDelete(const Options& options, internal::Cf cf, const std::string& key) {
  auto db = OpenRaw(options);
  auto status = db->raw()->Delete(rocksdb::WriteOptions(), db->cf(cf), key);
  if (!status.ok()) throw std::runtime_error(status.ToString());
}

inline void RawPut(const Options& options, internal::Cf cf, const std::string& key,
                   const std::string& value) {
  auto db = OpenRaw(options);
  auto status = db->raw()->Put(rocksdb::WriteOptions(), db->cf(cf), key, value);
  if (!status.ok()) throw std::runtime_error(status.ToString());
}

}  // namespace cir::storage::testing
