#include "awareness_notice.h"

#include <algorithm>
#include <map>

#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include "money.h"

namespace dx {

namespace {

constexpr std::size_t kTop = 3;  // frauds and stations named in the letter

// The letter in one language: the same sentences, chosen by the same figures, in each. In a
// phrase, {name} is filled in (see fill()).
struct Phrases {
  bool hindi;
  const char* district;       // {name}: the district's name in this language
  const char* noDistrict;     // when the config names none
  const char* oneCase;        // {n}
  const char* manyCases;      // {n}
  const char* andWord;        // the last of a list
  const char* subject;        // {district} {month}
  const char* noCases;        // {district} {month}
  const char* cases;          // {district} {month} {cases} {lost}
  const char* noneHeld;       // nothing frozen or returned
  const char* frozenOnly;     // {frozen}
  const char* frozenAndBack;  // {frozen} {recovered}
  const char* tops;           // {frauds} {stations}
  const char* warning;        // what the public must hear
  const char* respondBy;      // {date}
};

constexpr Phrases kEnglish = {
    false,
    "{name} district",
    "the district",
    "{n} case",
    "{n} cases",
    "and",
    "Public awareness against cyber fraud — cases of {month} in {district}",
    "The police stations of {district} registered no cyber-crime case in {month}. ",
    "The police stations of {district} registered {cases} of cyber crime in {month}: the victims "
    "lost {lost}",
    "; none of it has been frozen or returned yet. ",
    ", of which {frozen} has been frozen; none has been returned to them yet. ",
    ", of which {frozen} has been frozen and {recovered} returned to them. ",
    "The commonest frauds were {frauds}. Most cases were registered at {stations}. ",
    "Fraudsters call people pretending to be from their bank, a KYC desk or a government office, "
    "and ask for their bank or Aadhaar details and the OTP sent to their phone.\n\n"
    "You are requested to have the public warned in all the areas listed, through the press, "
    "radio, SMS, social media, panchayats, schools and the banks:\n"
    "- Never share your bank account or card details, UPI PIN, OTP or Aadhaar details with "
    "anyone on a phone call, SMS or link. No bank or government office asks for them.\n"
    "- If you have been cheated, call 1930 at once (the sooner, the more of the money can be "
    "frozen) or report it at cybercrime.gov.in.",
    "\n\nPlease report the action taken by {date}.",
};

constexpr Phrases kHindi = {
    true,
    "{name} जिले",
    "जिले",
    "{n} मामला",
    "{n} मामले",
    "और",
    "साइबर ठगी के विरुद्ध जन-जागरूकता — {district} में {month} के मामले",
    "{month} में {district} के थानों में साइबर अपराध का कोई मामला दर्ज नहीं हुआ। ",
    "{month} में {district} के थानों में साइबर अपराध के {cases} दर्ज हुए: पीड़ितों से {lost} की "
    "ठगी हुई",
    "; अभी तक इसमें से कोई राशि न फ्रीज़ हो सकी, न वापस मिली। ",
    ", जिसमें से {frozen} फ्रीज़ कराए गए; अभी तक कोई राशि वापस नहीं मिली। ",
    ", जिसमें से {frozen} फ्रीज़ कराए गए और {recovered} पीड़ितों को वापस दिलाए गए। ",
    "सबसे अधिक मामले {frauds} के रहे। थानों में सबसे अधिक मामले {stations} में दर्ज हुए। ",
    "ठग बैंक, केवाईसी डेस्क या किसी सरकारी कार्यालय का कर्मचारी बनकर फ़ोन करते हैं और लोगों से "
    "उनके बैंक या आधार का विवरण और फ़ोन पर आया ओटीपी माँगते हैं।\n\n"
    "अनुरोध है कि सूचीबद्ध सभी क्षेत्रों में समाचार पत्रों, रेडियो, एसएमएस, सोशल मीडिया, "
    "पंचायतों, विद्यालयों और बैंकों के माध्यम से जनता को सावधान किया जाए:\n"
    "- किसी भी फ़ोन कॉल, एसएमएस या लिंक पर अपने बैंक खाते या कार्ड का विवरण, यूपीआई पिन, "
    "ओटीपी या आधार का विवरण कभी साझा न करें। कोई भी बैंक या सरकारी कार्यालय यह जानकारी नहीं "
    "माँगता।\n"
    "- ठगी होने पर तुरंत 1930 पर कॉल करें (जितनी जल्दी शिकायत, उतनी अधिक राशि फ्रीज़ हो सकती "
    "है) या cybercrime.gov.in पर शिकायत दर्ज करें।",
    "\n\nकृपया की गई कार्रवाई की सूचना {date} तक भेजें।",
};

// `phrase` with each {key} replaced by its value.
std::string fill(const char* phrase, const std::map<std::string, std::string>& values) {
  std::string out = phrase;
  for (const auto& [key, value] : values)
    for (auto at = out.find("{" + key + "}"); at != std::string::npos;
         at = out.find("{" + key + "}", at + value.size()))
      out.replace(at, key.size() + 2, value);
  return out;
}

// What the letter names: a thing (a fraud type, a station) and its cases.
struct Ranked {
  std::string en, hi;
  int cases;
  const std::string& name(const Phrases& p) const { return p.hindi ? hi : en; }
};

// Most cases first; the config's or the schema's order among equals.
std::vector<Ranked> byCases(std::vector<Ranked> all) {
  std::stable_sort(all.begin(), all.end(),
                   [](const Ranked& a, const Ranked& b) { return a.cases > b.cases; });
  return all;
}

// The kTop with most cases, those without cases left out.
std::vector<Ranked> topOf(const std::vector<Ranked>& all) {
  std::vector<Ranked> top;
  for (const Ranked& r : byCases(all))
    if (r.cases > 0 && top.size() < kTop) top.push_back(r);
  return top;
}

std::string casesIn(const Phrases& p, int n) {
  return fill(n == 1 ? p.oneCase : p.manyCases, {{"n", std::to_string(n)}});
}

// "A (3 cases), B (2 cases) and C (1 case)"; stations with the bare number.
std::string listOf(const Phrases& p, const std::vector<Ranked>& items, bool withWord) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += i + 1 == items.size() ? std::string(" ") + p.andWord + " " : ", ";
    out += items[i].name(p) + " (" +
           (withWord ? casesIn(p, items[i].cases) : std::to_string(items[i].cases)) + ")";
  }
  return out;
}

struct Letter {
  std::string subject, text;
};

Letter letter(const Phrases& p, const CrimeReport& r, const std::vector<Ranked>& frauds,
              const std::vector<Ranked>& stations, const std::string& respondBy) {
  const Tally t = r.total();
  const std::string& name = p.hindi ? r.districtHi : r.district;
  const std::map<std::string, std::string> values = {
      {"district", name.empty() ? p.noDistrict : fill(p.district, {{"name", name}})},
      {"month", p.hindi ? r.period.from.hindi() : r.period.from.english()},
      {"cases", casesIn(p, t.cases)},
      {"lost", formatRupeesIndian(t.lost)},
      {"frozen", formatRupeesIndian(t.frozen)},
      {"recovered", formatRupeesIndian(t.recovered)},
      {"frauds", listOf(p, frauds, true)},
      {"stations", listOf(p, stations, false)},
      {"date", respondBy},
  };
  std::string text;
  if (t.cases == 0) {
    text = fill(p.noCases, values);
  } else {
    text = fill(p.cases, values) +
           fill(t.recovered > 0 ? p.frozenAndBack
                : t.frozen > 0  ? p.frozenOnly
                                : p.noneHeld,
                values) +
           fill(p.tops, values);
  }
  text += p.warning;
  if (!respondBy.empty()) text += fill(p.respondBy, values);
  return {fill(p.subject, values), text};
}

}  // namespace

std::string draftAwarenessNotice(const CrimeReport& r, const NoticeDraft& draft) {
  std::vector<Ranked> frauds, stations;
  for (std::size_t c = 0; c < crimeCategories().size(); ++c)
    frauds.push_back({crimeCategories()[c].en, crimeCategories()[c].hi, r.categoryTotal(c).cases});
  for (std::size_t s = 0; s < r.stations.size(); ++s) {
    const ReportStation& st = r.stations[s];
    stations.push_back({st.name, st.nameHi.empty() ? st.name : st.nameHi, r.stationTotal(s).cases});
  }
  const Letter hi = letter(kHindi, r, topOf(frauds), topOf(stations), draft.respondBy);
  const Letter en = letter(kEnglish, r, topOf(frauds), topOf(stations), draft.respondBy);

  rapidjson::StringBuffer buf;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buf);
  w.SetIndent(' ', 2);
  w.StartObject();
  w.Key("letter_no");
  w.String(draft.letterNo);
  w.Key("subject");
  w.StartObject();
  w.Key("hi");
  w.String(hi.subject);
  w.Key("en");
  w.String(en.subject);
  w.EndObject();
  w.Key("text");
  w.StartObject();
  w.Key("hi");
  w.String(hi.text);
  w.Key("en");
  w.String(en.text);
  w.EndObject();
  w.Key("audience");
  w.String(
      "आम जनता, विशेषकर बैंक ग्राहक, विद्यार्थी, महिलाएँ और वरिष्ठ नागरिक / the general public, "
      "especially bank customers, students, women and senior citizens");
  w.Key("areas");  // every station's area, those with most cases first
  w.StartArray();
  for (const Ranked& a : byCases(stations))
    w.String(a.hi == a.en ? a.en : a.hi + " (" + a.en + ")");
  w.EndArray();
  w.Key("channels");
  w.StartArray();
  for (const char* c : {"press", "radio", "sms", "social_media", "panchayat", "schools", "banks"})
    w.String(c);
  w.EndArray();
  if (!draft.respondBy.empty()) {
    w.Key("respond_by");
    w.String(draft.respondBy);
  }
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize()) + "\n";
}

}  // namespace dx
