#include "disk_writer.hpp"

#include <cstdlib>

#include <spdlog/spdlog.h>

#include "dcos/common/log.hpp"

namespace dcos::replicated_log::detail {

DiskWriter::DiskWriter(LogStorage& storage, Durable durable)
    : storage_(storage), durable_(std::move(durable)), thread_([this] { run(); }) {}

DiskWriter::~DiskWriter() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void DiskWriter::submit(std::uint64_t sequence, WriteBatch batch) {
  {
    std::lock_guard lock(mutex_);
    DCOS_ASSERT(queue_.empty() || queue_.back().first < sequence);
    queue_.emplace_back(sequence, std::move(batch));
  }
  wake_.notify_one();
}

void DiskWriter::run() {
  std::vector<std::pair<std::uint64_t, WriteBatch>> taken;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // Stopping, and everything submitted is written.
      taken.swap(queue_);
    }
    WriteBatch merged = std::move(taken.front().second);
    for (std::size_t i = 1; i < taken.size(); ++i) merged.merge(std::move(taken[i].second));
    const std::uint64_t last = taken.back().first;
    taken.clear();
    if (auto written = storage_.write(merged); !written) {
      // Never send what depends on a write that failed; later batches would land after a hole.
      auto log = dcos::log::get("replicated_log");
      log->critical("replica stopping: persist failed: {}", written.error().message);
      spdlog::default_logger()->flush();
      log->flush();
      std::abort();
    }
    durable_(last);
  }
}

}  // namespace dcos::replicated_log::detail
