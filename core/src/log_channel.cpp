#include "log_channel.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>

#include <Poco/Message.h>

namespace dx {

namespace {
constexpr auto kInterval = std::chrono::milliseconds(20);
constexpr std::size_t kFlushAt = 64 * 1024;  // a full buffer is written without waiting
}  // namespace

BatchedStderrChannel::BatchedStderrChannel(Poco::AutoPtr<Poco::Formatter> format)
    : format_(std::move(format)), thread_([this] { run(); }) {}

BatchedStderrChannel::~BatchedStderrChannel() {
  close();
}

void BatchedStderrChannel::log(const Poco::Message& message) {
  std::string line;
  format_->format(message, line);
  line += '\n';
  bool wakeNow;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) {  // after close(): straight through
      writeAll(line);
      return;
    }
    pending_ += line;
    wakeNow = message.getPriority() <= Poco::Message::PRIO_ERROR || pending_.size() >= kFlushAt;
    urgent_ = urgent_ || wakeNow;
  }
  if (wakeNow) wake_.notify_one();
}

void BatchedStderrChannel::close() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void BatchedStderrChannel::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait_for(lock, kInterval, [&] { return urgent_ || stopping_; });
    urgent_ = false;
    std::string text;
    text.swap(pending_);
    bool last = stopping_;
    lock.unlock();
    writeAll(text);
    if (last) return;
    lock.lock();
  }
}

void BatchedStderrChannel::writeAll(const std::string& text) {
  for (std::size_t done = 0; done < text.size();) {
    ssize_t n = ::write(STDERR_FILENO, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // stderr is gone: nothing better to do with a log line
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace dx
