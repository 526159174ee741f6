#pragma once
// A `LogStorage` whose Nth write fails (Beast's `fail_count` in spirit): that write lands only a
// prefix of its records -- none (lost) or some (torn), in the order `MemoryLogStorage` applies
// them -- and reports `Errc::io_error`. Every other write works. For tests of what a shell may
// release around a failed write and of recovery from what landed.

#include <cstddef>

#include "dcos/replicated_log/storage.hpp"

namespace dcos::replicated_log::testing {

class FaultyLogStorage final : public LogStorage {
 public:
  // Write number `fail_at` (1-based) fails after landing `records_landed` of its records.
  FaultyLogStorage(std::size_t fail_at, std::size_t records_landed)
      : fail_at_(fail_at), records_landed_(records_landed) {}

  Result<Recovered> recover() override { return disk_.recover(); }
  Result<std::optional<Action>> read(Position position) const override { return disk_.read(position); }
  Result<void> write(const WriteBatch& batch) override {
    if (++writes_ != fail_at_) return disk_.write(batch);
    disk_.write_prefix(batch, records_landed_);
    return fail(Errc::io_error, "injected write failure");
  }
  using LogStorage::write;

  std::size_t writes() const { return writes_; }
  const MemoryLogStorage& disk() const { return disk_; }

 private:
  MemoryLogStorage disk_;
  std::size_t fail_at_;
  std::size_t records_landed_;
  std::size_t writes_ = 0;
};

}  // namespace dcos::replicated_log::testing
