// dx-sim-station: a police station's records software, as far as dxhub sees it. It writes
// realistic cyber-crime case exports (CSV, the columns of plugins/station_records/
// record_reader.h) into a station's inbox folder, the way such software would: UTF-8 with a
// BOM, CRLF line ends, written to a dot-file and renamed when complete, so a watcher never sees
// half a file.
//
//   dx-sim-station --out DIR [--station ID] [--rows N] [--months YYYY-MM..YYYY-MM] [--seed S]
//                  [--bad K] [--repeat]
//
// --bad K makes K of the N rows faulty, in turn: a date that does not exist or is not
// YYYY-MM-DD, money with three decimals (12.345), an unknown category, and a plain Aadhaar-like
// number (12 digits, Verhoeff-valid) in the actions. --repeat also writes a second file that
// repeats some good rows of the first, as records software does when it exports "everything
// since last month". The same seed writes the same rows.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "domain_checks.h"

namespace {

const char* const kUsage =
    "usage: dx-sim-station --out DIR [--station ID] [--rows N] [--months YYYY-MM..YYYY-MM]\n"
    "                      [--seed S] [--bad K] [--repeat]\n"
    "Writes a station's cyber-crime case export (CSV) into DIR, as its records software would.\n"
    "  --out DIR       the station's inbox folder (made if missing)\n"
    "  --station ID    the station's participant id (default ps.samastipur.nagar); names the file\n"
    "  --rows N        rows to write (default 20)\n"
    "  --months A..B   months the cases were registered in, e.g. 2026-01..2026-06 (default: "
    "January\n"
    "                  of this year to this month)\n"
    "  --seed S        the same seed writes the same rows (default: from the clock; printed)\n"
    "  --bad K         K of the rows are faulty: bad date, money as 12.345, unknown category, or "
    "a\n"
    "                  plain Aadhaar-like number in the actions (default 0)\n"
    "  --repeat        also write a second file repeating some rows of the first\n";

struct Usage : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Options {
  std::string out;
  std::string station = "ps.samastipur.nagar";
  int rows = 20;
  int fromYear = 0, fromMonth = 0, toYear = 0, toMonth = 0;
  std::uint64_t seed = 0;
  bool seedGiven = false;
  int bad = 0;
  bool repeat = false;
};

class Random {
 public:
  explicit Random(std::uint64_t seed) : engine_(seed) {}
  // Uniform in [lo, hi].
  long long between(long long lo, long long hi) {
    return lo + static_cast<long long>(engine_() % static_cast<std::uint64_t>(hi - lo + 1));
  }
  bool chance(int percent) { return between(1, 100) <= percent; }
  template <class T>
  const T& pick(const std::vector<T>& v) {
    return v[static_cast<std::size_t>(between(0, static_cast<long long>(v.size()) - 1))];
  }
  template <class T>
  void shuffle(std::vector<T>& v) {
    for (std::size_t i = v.size(); i > 1; --i)
      std::swap(v[i - 1], v[static_cast<std::size_t>(between(0, static_cast<long long>(i) - 1))]);
  }

 private:
  std::mt19937_64 engine_;
};

// ---- What a Samastipur station's cyber-crime register looks like ----

struct Category {
  const char* name;
  int weight;                                      // how common, out of 100
  long long lostMin, lostMax;                      // rupees
  std::vector<std::vector<const char*>> sections;  // one set is chosen
  std::vector<const char*> actions;                // specific to the category
};

const std::vector<Category>& categories() {
  static const std::vector<Category> kCategories = {
      {"upi_fraud",
       24,
       2000,
       150000,
       {{"BNS 318(4)", "IT Act 66D"}, {"BNS 318(4)", "BNS 319(2)", "IT Act 66D"}},
       {"beneficiary UPI IDs reported to NPCI for blocking",
        "freeze requested to State Bank of India, ₹18,500 held",
        "यूपीआई लेन-देन का विवरण बैंक से मांगा गया",
        "merchant QR code traced to a mule account in Jamtara"}},
      {"otp_kyc_fraud",
       20,
       5000,
       200000,
       {{"BNS 318(4)", "BNS 319(2)", "IT Act 66C", "IT Act 66D"}, {"BNS 318(4)", "IT Act 66D"}},
       {"caller's mobile number blocked through the telecom operator",
        "KYC-update SMS link reported to CERT-In", "बैंक को खाता फ्रीज़ करने हेतु पत्र भेजा गया",
        "call detail records requested from Airtel and Jio"}},
      {"sim_swap",
       6,
       50000,
       500000,
       {{"BNS 318(4)", "BNS 319(2)", "IT Act 66C"}},
       {"duplicate SIM issue records obtained from the retailer", "SIM विक्रेता से पूछताछ की गई",
        "net-banking login IP addresses requested from the bank"}},
      {"sextortion",
       8,
       3000,
       80000,
       {{"BNS 308(2)", "IT Act 67", "IT Act 66E"}, {"BNS 308(2)", "BNS 351(2)", "IT Act 67"}},
       {"objectionable video taken down through the platform's grievance officer",
        "पीड़ित की काउंसलिंग कराई गई", "extortion UPI ID and WhatsApp number reported for blocking"}},
      {"job_fraud",
       10,
       3000,
       60000,
       {{"BNS 318(4)", "BNS 316(2)", "IT Act 66D"}},
       {"fake recruitment website reported for takedown",
        "Telegram task-group admins identified, notice under BNSS 94 issued",
        "नौकरी के नाम पर ठगी की शिकायत पर बैंक से खाता विवरण मांगा गया"}},
      {"investment_fraud",
       10,
       50000,
       1500000,
       {{"BNS 318(4)", "BNS 61(2)", "IT Act 66D"}},
       {"trading app and WhatsApp group reported, layer-1 accounts frozen",
        "freeze requested to HDFC Bank, Punjab National Bank and SBI",
        "निवेश ऐप से जुड़े खातों की जानकारी मांगी गई"}},
      {"loan_app",
       8,
       2000,
       40000,
       {{"BNS 308(2)", "BNS 351(2)", "IT Act 66D"}, {"BNS 308(2)", "IT Act 67"}},
       {"loan app reported to Google Play and the RBI Sachet portal",
        "morphed photos removed, harassing numbers blocked",
        "लोन ऐप द्वारा धमकी की जांच साइबर सेल को भेजी गई"}},
      {"identity_theft",
       6,
       0,
       50000,
       {{"BNS 319(2)", "IT Act 66C"}},
       {"fake social media profile taken down", "PAN misuse reported to the Income Tax department",
        "पहचान के दुरुपयोग की सूचना बैंक को दी गई"}},
      {"other",
       8,
       1000,
       50000,
       {{"BNS 318(4)", "IT Act 66"}, {"IT Act 66", "IT Act 43"}},
       {"complaint forwarded to the cyber cell, Samastipur", "मामले की प्रारंभिक जांच जारी है"}},
  };
  return kCategories;
}

const std::vector<const char*>& commonActions() {
  static const std::vector<const char*> kActions = {
      "victim's statement recorded",
      "पीड़ित का बयान दर्ज किया गया",
      "bank account statement requested under BNSS 94",
      "complaint registered on NCRP, acknowledgement shared with the victim",
      "संदिग्ध मोबाइल नंबर ब्लॉक कराने हेतु अनुरोध भेजा गया",
      "accused identified, raid at his village, Dalsinghsarai block",
      "accused arrested; two mobile phones and 14 SIM cards seized",
  };
  return kActions;
}

struct Row {
  std::string caseNo, registeredOn, category, sections, status, lost, frozen, recovered, ncrp,
      actions;
  bool faulty = false;
};

std::string money(long long paise) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld.%02lld", paise / 100, paise % 100);
  return buf;
}

int daysIn(int y, int m) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

long long dayNumber(int y, int m, int d) {
  struct tm t {};
  t.tm_year = y - 1900;
  t.tm_mon = m - 1;
  t.tm_mday = d;
  return static_cast<long long>(timegm(&t)) / 86400;
}

std::string date(int y, int m, int d) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, d);
  return buf;
}

std::string joinList(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : "; ") + s;
  return out;
}

// A 12-digit number the hub must refuse as a plain Aadhaar number: first digit 2-9, Verhoeff
// check digit last.
std::string aadhaarLike(Random& rnd) {
  static const int d[10][10] = {{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 2, 3, 4, 0, 6, 7, 8, 9, 5},
                                {2, 3, 4, 0, 1, 7, 8, 9, 5, 6}, {3, 4, 0, 1, 2, 8, 9, 5, 6, 7},
                                {4, 0, 1, 2, 3, 9, 5, 6, 7, 8}, {5, 9, 8, 7, 6, 0, 4, 3, 2, 1},
                                {6, 5, 9, 8, 7, 1, 0, 4, 3, 2}, {7, 6, 5, 9, 8, 2, 1, 0, 4, 3},
                                {8, 7, 6, 5, 9, 3, 2, 1, 0, 4}, {9, 8, 7, 6, 5, 4, 3, 2, 1, 0}};
  static const int p[8][10] = {{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 5, 7, 6, 2, 8, 3, 0, 9, 4},
                               {5, 8, 0, 3, 7, 9, 6, 1, 4, 2}, {8, 9, 1, 6, 0, 4, 3, 5, 2, 7},
                               {9, 4, 5, 3, 1, 2, 6, 8, 7, 0}, {4, 2, 8, 6, 5, 7, 3, 9, 0, 1},
                               {2, 7, 9, 3, 8, 0, 6, 4, 1, 5}, {7, 0, 4, 6, 9, 1, 3, 2, 5, 8}};
  static const int inv[10] = {0, 4, 3, 2, 1, 5, 6, 7, 8, 9};
  std::string n = std::to_string(rnd.between(2, 9));
  while (n.size() < 11) n += static_cast<char>('0' + rnd.between(0, 9));
  int c = 0;
  for (std::size_t i = 0; i < n.size(); ++i) c = d[c][p[(i + 1) % 8][n[n.size() - 1 - i] - '0']];
  n += static_cast<char>('0' + inv[c]);
  if (!dx::verhoeffValid(n)) throw std::logic_error("Verhoeff check digit is wrong");
  return n.substr(0, 4) + " " + n.substr(4, 4) + " " + n.substr(8, 4);
}

const Category& weightedCategory(Random& rnd) {
  long long r = rnd.between(1, 100);
  for (const Category& c : categories()) {
    r -= c.weight;
    if (r <= 0) return c;
  }
  return categories().back();
}

std::vector<Row> makeRows(const Options& o, Random& rnd) {
  struct Draft {
    const Category* category;
    int y, m, d;
  };
  std::vector<std::pair<int, int>> months;
  for (int y = o.fromYear, m = o.fromMonth; y < o.toYear || (y == o.toYear && m <= o.toMonth);) {
    months.emplace_back(y, m);
    if (++m > 12) {
      m = 1;
      ++y;
    }
  }
  // Every category appears once the export has enough rows; then as common as it is.
  std::vector<const Category*> firstRound;
  for (const Category& c : categories()) firstRound.push_back(&c);
  rnd.shuffle(firstRound);
  std::vector<Draft> drafts;
  for (int i = 0; i < o.rows; ++i) {
    Draft d{};
    d.category = i < static_cast<int>(firstRound.size()) ? firstRound[static_cast<std::size_t>(i)]
                                                         : &weightedCategory(rnd);
    auto [y, m] = rnd.pick(months);
    d.y = y;
    d.m = m;
    d.d = static_cast<int>(rnd.between(1, daysIn(y, m)));
    drafts.push_back(d);
  }
  std::stable_sort(drafts.begin(), drafts.end(), [](const Draft& a, const Draft& b) {
    return std::tie(a.y, a.m, a.d) < std::tie(b.y, b.m, b.d);
  });
  const long long lastDay = dayNumber(o.toYear, o.toMonth, daysIn(o.toYear, o.toMonth));
  std::map<int, long long> firNo;  // per year: FIRs of all kinds are numbered together
  std::vector<Row> rows;
  for (const Draft& d : drafts) {
    Row r;
    long long& n = firNo[d.y];
    if (n == 0) n = rnd.between(12, 160);
    n += rnd.between(1, 9);
    char fir[32];
    std::snprintf(fir, sizeof fir, "%03lld/%d", n, d.y);
    r.caseNo = fir;
    r.registeredOn = date(d.y, d.m, d.d);
    r.category = d.category->name;
    std::vector<std::string> sections;
    for (const char* s : rnd.pick(d.category->sections)) sections.emplace_back(s);
    r.sections = joinList(sections);

    long long age = lastDay - dayNumber(d.y, d.m, d.d);
    long long roll = rnd.between(1, 100);
    if (age < 30)
      r.status = roll <= 50 ? "registered" : "under_investigation";
    else if (age < 120)
      r.status = roll <= 10   ? "registered"
                 : roll <= 70 ? "under_investigation"
                 : roll <= 95 ? "chargesheeted"
                              : "closed";
    else
      r.status = roll <= 30 ? "under_investigation" : roll <= 70 ? "chargesheeted" : "closed";

    long long lost = rnd.between(d.category->lostMin, d.category->lostMax) * 100;
    if (lost > 0 && rnd.chance(60)) lost = lost / 10000 * 10000;  // round hundreds
    long long frozen = r.status == "registered" && rnd.chance(50)
                           ? 0
                           : lost * rnd.between(0, 70) / 100 / 100 * 100;
    long long recovered = (r.status == "chargesheeted" || r.status == "closed")
                              ? frozen * rnd.between(40, 100) / 100 / 100 * 100
                              : 0;
    r.lost = money(lost);
    r.frozen = money(frozen);
    r.recovered = money(recovered);
    if (rnd.chance(75)) {
      char ack[32];
      std::snprintf(ack, sizeof ack, "315%02d%02d%07lld", d.m, d.y % 100, rnd.between(1, 9999999));
      r.ncrp = ack;
    }
    std::vector<std::string> actions;
    actions.emplace_back(rnd.pick(d.category->actions));
    if (rnd.chance(60)) {
      std::string more = rnd.pick(commonActions());
      if (more != actions.front()) actions.push_back(more);
    }
    if (r.status == "chargesheeted" && rnd.chance(70))
      actions.emplace_back("charge sheet filed in the court of CJM, Samastipur");
    r.actions = joinList(actions);
    rows.push_back(std::move(r));
  }
  return rows;
}

// Spoils K rows, spread over the export, each in one of the four ways in turn.
std::vector<std::string> spoil(std::vector<Row>& rows, int bad, Random& rnd) {
  std::vector<std::size_t> index(rows.size());
  for (std::size_t i = 0; i < index.size(); ++i) index[i] = i;
  rnd.shuffle(index);
  // Spoil rows of common categories first, so every category still arrives in a good row.
  std::map<std::string, int> left;
  for (const Row& r : rows) ++left[r.category];
  std::vector<std::size_t> chosen;
  for (std::size_t i : index)
    if (static_cast<int>(chosen.size()) < bad && left[rows[i].category] > 1) {
      --left[rows[i].category];
      chosen.push_back(i);
    }
  for (std::size_t i : index)
    if (static_cast<int>(chosen.size()) < bad &&
        std::find(chosen.begin(), chosen.end(), i) == chosen.end())
      chosen.push_back(i);
  std::vector<std::string> kinds;
  for (int k = 0; k < bad; ++k) {
    Row& r = rows[chosen[static_cast<std::size_t>(k)]];
    r.faulty = true;
    switch (k % 4) {
      case 0:  // a day that does not exist, or the day first as people write it
        if ((k / 4) % 2 == 0)
          r.registeredOn = r.registeredOn.substr(0, 4) + "-02-30";
        else
          r.registeredOn = r.registeredOn.substr(8, 2) + "/" + r.registeredOn.substr(5, 2) + "/" +
                           r.registeredOn.substr(0, 4);
        kinds.emplace_back("bad date");
        break;
      case 1:
        r.lost =
            std::to_string(rnd.between(1, 99999)) + "." + std::to_string(rnd.between(100, 999));
        kinds.emplace_back("money with three decimals");
        break;
      case 2:
        r.category = k % 8 == 2 ? "lottery_fraud" : "crypto_scam";
        kinds.emplace_back("unknown category");
        break;
      default:
        r.actions += std::string(r.actions.empty() ? "" : "; ") + "victim shared Aadhaar " +
                     aadhaarLike(rnd) + " with the caller";
        kinds.emplace_back("plain Aadhaar number in actions");
        break;
    }
  }
  return kinds;
}

std::string csvField(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string csv(const std::vector<const Row*>& rows) {
  std::string out = "\xEF\xBB\xBF";  // the BOM spreadsheet-minded software writes
  out +=
      "case_no,registered_on,category,sections,status,amount_lost,amount_frozen,"
      "amount_recovered,ncrp_ack,actions\r\n";
  for (const Row* r : rows)
    out += csvField(r->caseNo) + "," + csvField(r->registeredOn) + "," + csvField(r->category) +
           "," + csvField(r->sections) + "," + csvField(r->status) + "," + csvField(r->lost) + "," +
           csvField(r->frozen) + "," + csvField(r->recovered) + "," + csvField(r->ncrp) + "," +
           csvField(r->actions) + "\r\n";
  return out;
}

// Writes DIR/.NAME.part, then renames it to the first free DIR/NAME(.n).csv; the path.
std::string publish(const std::string& dir, const std::string& stem, const std::string& content) {
  std::string part = dir + "/." + stem + ".part";
  int fd = ::open(part.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot write " + part + ": " + std::strerror(errno));
  std::size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      throw std::runtime_error("cannot write " + part + ": " + std::strerror(err));
    }
    done += static_cast<std::size_t>(n);
  }
  ::fsync(fd);
  ::close(fd);
  for (int i = 0;; ++i) {
    std::string path = dir + "/" + stem + (i ? "." + std::to_string(i) : "") + ".csv";
    if (::renameat2(AT_FDCWD, part.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE) == 0)
      return path;
    if (errno != EEXIST) {
      // No RENAME_NOREPLACE here: check, then rename.
      if (std::filesystem::exists(path)) continue;
      if (std::rename(part.c_str(), path.c_str()) == 0) return path;
      throw std::runtime_error("cannot rename " + part + " to " + path + ": " +
                               std::strerror(errno));
    }
  }
}

bool parseMonth(const std::string& s, int& y, int& m) {
  if (s.size() != 7 || s[4] != '-') return false;
  for (std::size_t i : {0u, 1u, 2u, 3u, 5u, 6u})
    if (s[i] < '0' || s[i] > '9') return false;
  y = std::stoi(s.substr(0, 4));
  m = std::stoi(s.substr(5, 2));
  return y >= 2000 && y <= 2100 && m >= 1 && m <= 12;
}

Options parse(int argc, char** argv) {
  Options o;
  std::time_t now = std::time(nullptr);
  struct tm t {};
  gmtime_r(&now, &t);
  o.toYear = o.fromYear = t.tm_year + 1900;
  o.fromMonth = 1;
  o.toMonth = t.tm_mon + 1;
  auto value = [&](int& i) -> std::string {
    if (i + 1 >= argc) throw Usage(std::string(argv[i]) + " needs a value");
    return argv[++i];
  };
  auto number = [&](int& i, long long lo, long long hi) {
    std::string name = argv[i], v = value(i);
    std::size_t used = 0;
    long long n = 0;
    try {
      n = std::stoll(v, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != v.size() || v.empty() || n < lo || n > hi)
      throw Usage(name + " wants a whole number from " + std::to_string(lo) + " to " +
                  std::to_string(hi) + ", not \"" + v + "\"");
    return n;
  };
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      std::exit(0);
    } else if (a == "--out") {
      o.out = value(i);
    } else if (a == "--station") {
      o.station = value(i);
    } else if (a == "--rows") {
      o.rows = static_cast<int>(number(i, 1, 1000000));
    } else if (a == "--bad") {
      o.bad = static_cast<int>(number(i, 0, 1000000));
    } else if (a == "--seed") {
      o.seed = static_cast<std::uint64_t>(number(i, 0, 9007199254740991LL));
      o.seedGiven = true;
    } else if (a == "--repeat") {
      o.repeat = true;
    } else if (a == "--months") {
      std::string v = value(i);
      std::size_t dots = v.find("..");
      std::string from = dots == std::string::npos ? v : v.substr(0, dots);
      std::string to = dots == std::string::npos ? v : v.substr(dots + 2);
      if (!parseMonth(from, o.fromYear, o.fromMonth) || !parseMonth(to, o.toYear, o.toMonth) ||
          std::make_pair(o.fromYear, o.fromMonth) > std::make_pair(o.toYear, o.toMonth))
        throw Usage("--months wants YYYY-MM..YYYY-MM (the first not after the second), not \"" + v +
                    "\"");
    } else {
      throw Usage("unknown option " + a);
    }
  }
  if (o.out.empty()) throw Usage("--out DIR is required (the station's inbox folder)");
  if (o.bad > o.rows) throw Usage("--bad cannot be more than --rows");
  if (!o.seedGiven)
    o.seed = static_cast<std::uint64_t>(now) ^ static_cast<std::uint64_t>(::getpid());
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Options o = parse(argc, argv);
    std::filesystem::create_directories(o.out);
    Random rnd(o.seed);
    std::vector<Row> rows = makeRows(o, rnd);
    std::vector<std::string> faults = spoil(rows, o.bad, rnd);

    std::time_t now = std::time(nullptr);
    struct tm t {};
    gmtime_r(&now, &t);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", &t);
    std::string stem = o.station + "-" + stamp + "-" + std::to_string(o.seed);

    std::vector<const Row*> all;
    for (const Row& r : rows) all.push_back(&r);
    std::string path = publish(o.out, stem, csv(all));
    std::map<std::string, int> count;
    for (const std::string& f : faults) ++count[f];
    std::string faultText;
    for (const auto& [kind, n] : count)
      faultText += (faultText.empty() ? ": " : ", ") + std::to_string(n) + " " + kind;
    std::cout << "dx-sim-station: wrote " << path << " (" << rows.size() << " rows, seed " << o.seed
              << "; " << faults.size() << " faulty" << faultText << ")\n";

    if (o.repeat) {
      std::vector<const Row*> again;
      for (std::size_t i = 0; i < rows.size(); ++i)
        if (!rows[i].faulty && (again.empty() || i % 3 == 0)) again.push_back(&rows[i]);
      std::string repeatPath = publish(o.out, stem + "-repeat", csv(again));
      std::cout << "dx-sim-station: wrote " << repeatPath << " (" << again.size()
                << " rows repeated from the first file)\n";
    }
    return 0;
  } catch (const Usage& e) {
    std::cerr << "dx-sim-station: " << e.what() << " (see dx-sim-station --help)\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "dx-sim-station: " << e.what() << "\n";
    return 1;
  }
}
