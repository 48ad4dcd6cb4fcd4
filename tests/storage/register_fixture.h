// The fixture of the register suites (register_test, hostile_test): a register in a fresh
// directory on a settable clock, durable (sync) with small caches, and the test projector.
#pragma once

#include <memory>

#include <gtest/gtest.h>

#include "cir/storage/register.h"
#include "raw_db.h"
#include "test_projector.h"
#include "test_util.h"

namespace cir::storage::testing {

class RegisterFixture : public ::testing::Test {
 protected:
  [[nodiscard]] Options Opts() const {
    return TestOptions(dir_, clock_, /*sync=*/true, /*small=*/true);
  }
  // Opens (or reopens) the register in dir_; fails the test when it cannot.
  std::unique_ptr<Register> Open() { return Value(Register::Open(Opts())); }

  TempDir dir_;
  FakeClock clock_;
  TestProjector projector_;  // a transition every 3rd applied event of an initiative
};

}  // namespace cir::storage::testing
