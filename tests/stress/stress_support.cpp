#include "stress_support.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iostream>
#include <stdexcept>

#include <rapidjson/document.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include "clock.h"
#include "jws.h"
#include "test_support.h"

namespace dx::stress {
namespace {

std::string str(const rapidjson::Value& v, const char* key) {
  return v.IsObject() && v.HasMember(key) && v[key].IsString() ? v[key].GetString() : "";
}

}  // namespace

Report::Report(std::string test, std::string mustHold)
    : test_(std::move(test)), mustHold_(std::move(mustHold)) {}

bool Report::check(bool ok, const std::string& what) {
  if (!ok) {
    ++failures_;
    std::cerr << test_ << ": FAILED: " << what << std::endl;
  }
  return ok;
}

void Report::figure(const std::string& name, double value) {
  figures_.emplace_back(name, value);
}

void Report::figure(const std::string& name, const std::string& value) {
  figures_.emplace_back(name, value);
}

int Report::finish(const std::string& path) const {
  rapidjson::StringBuffer buf;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("test");
  w.String(test_);
  w.Key("must_hold");
  w.String(mustHold_);
  w.Key("passed");
  w.Bool(passed());
  w.Key("figures");
  w.StartObject();
  for (const auto& [name, value] : figures_) {
    w.Key(name);
    if (const double* d = std::get_if<double>(&value)) {
      if (std::floor(*d) == *d && std::fabs(*d) < 1e15)
        w.Int64(static_cast<std::int64_t>(*d));
      else
        w.Double(std::round(*d * 1000) / 1000);
    } else {
      w.String(std::get<std::string>(value));
    }
  }
  w.EndObject();
  w.EndObject();
  std::cout << buf.GetString() << std::endl;
  if (!path.empty()) {
    std::ofstream out(path);
    out << buf.GetString() << "\n";
    if (!out) {
      std::cerr << test_ << ": cannot write " << path << std::endl;
      return kFailed;
    }
  }
  std::cout << test_ << ": " << (passed() ? "passed" : "FAILED") << std::endl;
  return passed() ? kPassed : kFailed;
}

Outgoing freezeRequest(const std::string& to) {
  static const Signer cc = test::signer("cc.samastipur");
  static const std::string body = test::example("freeze.request");
  std::string jws =
      cc.sign(test::envelope("freeze.request", "cc.samastipur", to, body, {}, "31509260012345"));
  Expected<VerifiedMessage> m =
      verifyJws(jws, test::registry(), SystemClock::instance().unixSeconds());
  if (!m) throw std::runtime_error("a message the driver signed does not verify");
  return {std::string(m->id()), jws, m->digest};
}

PostOutcome post(test::Client& client, const Outgoing& message) {
  test::Response r = client.post("/v1/messages", message.jws);
  PostOutcome out;
  out.status = r.status;
  out.error = r.error;
  rapidjson::Document d;
  if (r.status == 202 || r.status == 200) {
    // The receipt: a JWS signed by the hub about this very message.
    Expected<VerifiedMessage> receipt =
        verifyJws(r.body, test::registry(), SystemClock::instance().unixSeconds());
    if (receipt && receipt->from() == "hub.samastipur" && receipt->type() == "hub.receipt" &&
        receipt->ref() == message.id) {
      out.digest = str(receipt->envelope["body"], "digest");
      out.receipted = out.digest == message.digest;
    }
    if (!out.receipted) out.code = "receipt_invalid";
  } else if (r.status != 0) {
    d.Parse(r.body.c_str(), r.body.size());
    out.code = str(d, "code");
  }
  return out;
}

Stored stored(test::Client& client, const std::string& id) {
  test::Response r = client.get("/v1/messages/" + id);
  Stored s;
  s.status = r.status;
  if (r.status == 200) {
    rapidjson::Document d;
    d.Parse(r.body.c_str(), r.body.size());
    s.state = str(d, "state");
    s.digest = str(d, "digest");
  }
  return s;
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  std::size_t i = static_cast<std::size_t>(std::ceil(p / 100.0 * values.size()));
  return values[std::min(values.size() - 1, i == 0 ? 0 : i - 1)];
}

Flags::Flags(int argc, char** argv, const std::vector<std::string>& known) {
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (a != "--figures" && std::find(known.begin(), known.end(), a) == known.end())
      throw std::invalid_argument("unknown option " + a);
    if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
    values_[a] = argv[++i];
  }
}

double Flags::number(const std::string& name, double otherwise) const {
  auto it = values_.find(name);
  if (it == values_.end()) return otherwise;
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(it->second, &used);
  } catch (const std::exception&) {
  }
  if (used == 0 || used != it->second.size())
    throw std::invalid_argument(name + " needs a number, not \"" + it->second + "\"");
  return v;
}

std::string Flags::figures() const {
  auto it = values_.find("--figures");
  return it == values_.end() ? std::string() : it->second;
}

std::string pluginPath(const std::string& stem) {
  return buildDir() + "/test-plugins/libdx_" + stem + ".so";
}

std::string buildDir() {
  return DX_BINARY_DIR;
}

}  // namespace dx::stress
