#pragma once
// A real SMTP server for tests: Debian's aiosmtpd with the handler tests/smtp/dx_smtp_sink.py,
// on a free loopback port, storing every accepted mail as a file; and a reader that decodes a
// stored mail with Python's email package. Header-only (used by several test binaries); needs
// DX_SOURCE_DIR. Requires /usr/bin/python3 with python3-aiosmtpd (Debian package).
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <Poco/Exception.h>
#include <Poco/Net/DialogSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Timespan.h>
#include <rapidjson/document.h>

#include "strict_json.h"
#include "test_process.h"

namespace dx::test {

// Debian's interpreter by its full path: another python3 may come first on PATH and not see
// Debian's Python packages.
inline constexpr const char* kDebianPython = "/usr/bin/python3";

struct SmtpSinkOptions {
  std::string refuse;           // e.g. "550 5.7.1 Refused": the answer to DATA instead of 250
  std::string user, password;   // AUTH LOGIN accepts these (none: every AUTH fails)
  std::string tlsCert, tlsKey;  // offer STARTTLS with this certificate (and require it)
};

class SmtpSink {
 public:
  explicit SmtpSink(const SmtpSinkOptions& options = {}) {
    folder_ = makeTempFolder("dx-smtp");
    port_ = freeLoopbackPort();
    std::vector<std::string> argv = {kDebianPython, "-m",
                                     "aiosmtpd",    "-n",
                                     "-l",          "127.0.0.1:" + std::to_string(port_),
                                     "-c",          "dx_smtp_sink.Sink"};
    if (!options.tlsCert.empty()) {
      argv.insert(argv.end(), {"--tlscert", options.tlsCert, "--tlskey", options.tlsKey});
    }
    std::map<std::string, std::string> env = {
        {"PYTHONPATH", std::string(DX_SOURCE_DIR) + "/tests/smtp"},
        {"PYTHONDONTWRITEBYTECODE", "1"},
        {"DX_SMTP_MAILDIR", folder_ + "/mail"},
        {"DX_SMTP_REFUSE", options.refuse},
        {"DX_SMTP_USER", options.user},
        {"DX_SMTP_PASSWORD", options.password}};
    process_ = std::make_unique<ChildProcess>(argv, folder_ + "/server.log", env);
    waitUntilListening();
  }

  ~SmtpSink() {
    process_.reset();  // SIGTERM and reap
    std::error_code ignored;
    std::filesystem::remove_all(folder_, ignored);
  }

  int port() const { return port_; }
  std::string log() const { return process_->log(); }

  // Paths of the mails received so far (NNNN.eml), in order.
  std::vector<std::string> mails() const {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(folder_ + "/mail", ec))
      if (e.path().extension() == ".eml") out.push_back(e.path().string());
    std::sort(out.begin(), out.end());
    return out;
  }

  // The envelope the server saw for a mail: mail_from, rcpt_tos, auth (login or null), tls.
  static std::string envelopeOf(const std::string& emlPath) {
    return readWholeFile(emlPath.substr(0, emlPath.size() - 4) + ".json");
  }

 private:
  // aiosmtpd starts in a few hundred milliseconds; ready once it greets with 220.
  void waitUntilListening() {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    std::string last;
    while (std::chrono::steady_clock::now() < deadline) {
      if (!process_->running())
        throw std::runtime_error(
            "aiosmtpd exited before listening (is python3-aiosmtpd "
            "installed?). Log:\n" +
            process_->log());
      try {
        Poco::Net::DialogSocket socket;
        socket.connect(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(port_)),
                       Poco::Timespan(0, 500000));
        socket.setReceiveTimeout(Poco::Timespan(2, 0));
        std::string greeting;
        if (socket.receiveStatusMessage(greeting) == 220) {
          socket.sendMessage("QUIT");
          socket.receiveStatusMessage(greeting);
          return;
        }
      } catch (const Poco::Exception& e) {
        last = e.displayText();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    throw std::runtime_error("aiosmtpd did not greet on port " + std::to_string(port_) +
                             " within 15 s (" + last + "). Log:\n" + process_->log());
  }

  std::string folder_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> process_;
};

// A stored mail decoded by Python's email package (tests/smtp/read_mail.py): subject,
// raw_subject, subject_words_whole, message_id, from, to[], content_type, parts[] with
// content_type, charset, language, disposition, filename, text, base64.
inline rapidjson::Document readMail(const std::string& emlPath) {
  CommandOutput out =
      runCommand({kDebianPython, std::string(DX_SOURCE_DIR) + "/tests/smtp/read_mail.py", emlPath},
                 emlPath + ".decoded");
  rapidjson::Document doc;
  if (out.exitCode != 0 || parseStrict(out.output, doc) || !doc.IsObject())
    throw std::runtime_error("read_mail.py failed on " + emlPath + ": " + out.output);
  return doc;
}

}  // namespace dx::test
