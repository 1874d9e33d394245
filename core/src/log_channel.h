#pragma once
// The hub's log channel: formatted lines gathered in memory and written to stderr in one
// write() every few milliseconds by a thread of its own. Poco's AsyncChannel woke its thread
// and wrote once for every line, one request's line at a time: a thread switch and a write per
// request, about 5 % of the hub's CPU at peak (perf, 2026-11-28). A line never waits on stderr
// inside a request; an error line is written at once. close() writes what is left.
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include <Poco/AutoPtr.h>
#include <Poco/Channel.h>
#include <Poco/Formatter.h>

namespace dx {

class BatchedStderrChannel : public Poco::Channel {
 public:
  explicit BatchedStderrChannel(Poco::AutoPtr<Poco::Formatter> format);
  void log(const Poco::Message& message) override;
  void close() override;  // writes what is gathered and stops the thread; idempotent

 protected:
  ~BatchedStderrChannel() override;

 private:
  void run();
  static void writeAll(const std::string& text);

  Poco::AutoPtr<Poco::Formatter> format_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::string pending_;
  bool urgent_ = false, stopping_ = false;
  std::thread thread_;
};

}  // namespace dx
