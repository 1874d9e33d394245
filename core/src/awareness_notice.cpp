#include "awareness_notice.h"

#include <algorithm>

#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include "money.h"

namespace dx {

namespace {

constexpr std::size_t kTop = 3;  // frauds and stations named in the letter

// What the letter names: a thing (a fraud type, a station) and its cases, most first.
struct Ranked {
  std::string en, hi;
  int cases;
};

std::vector<Ranked> topOf(std::vector<Ranked> all) {
  all.erase(std::remove_if(all.begin(), all.end(), [](const Ranked& r) { return r.cases == 0; }),
            all.end());
  std::stable_sort(all.begin(), all.end(),
                   [](const Ranked& a, const Ranked& b) { return a.cases > b.cases; });
  if (all.size() > kTop) all.resize(kTop);
  return all;
}

// "A, B and C" / "A, B और C".
std::string joined(const std::vector<std::string>& items, const std::string& andWord) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i)
    out += (i == 0 ? "" : i + 1 == items.size() ? " " + andWord + " " : ", ") + items[i];
  return out;
}

std::string casesEn(int n) {
  return std::to_string(n) + (n == 1 ? " case" : " cases");
}
std::string casesHi(int n) {
  return std::to_string(n) + (n == 1 ? " मामला" : " मामले");
}

std::string englishText(const CrimeReport& r, const std::vector<Ranked>& frauds,
                        const std::vector<Ranked>& stations, const NoticeDraft& draft) {
  const Tally t = r.total();
  const std::string district = r.district.empty() ? "the district" : r.district + " district";
  const std::string month = r.period.from.english();
  std::string out;
  if (t.cases == 0) {
    out =
        "The police stations of " + district + " registered no cyber-crime case in " + month + ". ";
  } else {
    out = "The police stations of " + district + " registered " + casesEn(t.cases) +
          " of cyber crime in " + month + ": the victims lost " + formatRupeesIndian(t.lost);
    if (t.frozen == 0 && t.recovered == 0)
      out += "; none of it has been frozen or returned yet. ";
    else if (t.recovered == 0)
      out += ", of which " + formatRupeesIndian(t.frozen) +
             " has been frozen; none has been returned to them yet. ";
    else
      out += ", of which " + formatRupeesIndian(t.frozen) + " has been frozen and " +
             formatRupeesIndian(t.recovered) + " returned to them. ";
    std::vector<std::string> f, s;
    for (const Ranked& x : frauds) f.push_back(x.en + " (" + casesEn(x.cases) + ")");
    for (const Ranked& x : stations) s.push_back(x.en + " (" + std::to_string(x.cases) + ")");
    out += "The commonest frauds were " + joined(f, "and") + ". Most cases were registered at " +
           joined(s, "and") + ". ";
  }
  out +=
      "Fraudsters call people pretending to be from their bank, a KYC desk or a government "
      "office, and ask for their bank or Aadhaar details and the OTP sent to their phone.\n\n"
      "You are requested to have the public warned in all the areas listed, through the press, "
      "radio, SMS, social media, panchayats, schools and the banks:\n"
      "- Never share your bank account or card details, UPI PIN, OTP or Aadhaar details with "
      "anyone on a phone call, SMS or link. No bank or government office asks for them.\n"
      "- If you have been cheated, call 1930 at once (the sooner, the more of the money can be "
      "frozen) or report it at cybercrime.gov.in.";
  if (!draft.respondBy.empty())
    out += "\n\nPlease report the action taken by " + draft.respondBy + ".";
  return out;
}

std::string hindiText(const CrimeReport& r, const std::vector<Ranked>& frauds,
                      const std::vector<Ranked>& stations, const NoticeDraft& draft) {
  const Tally t = r.total();
  const std::string district = r.districtHi.empty() ? "जिले" : r.districtHi + " जिले";
  const std::string month = r.period.from.hindi();
  std::string out;
  if (t.cases == 0) {
    out = month + " में " + district + " के थानों में साइबर अपराध का कोई मामला दर्ज नहीं हुआ। ";
  } else {
    out = month + " में " + district + " के थानों में साइबर अपराध के " + casesHi(t.cases) +
          " दर्ज हुए: पीड़ितों से " + formatRupeesIndian(t.lost) + " की ठगी हुई";
    if (t.frozen == 0 && t.recovered == 0)
      out += "; अभी तक इसमें से कोई राशि न फ्रीज़ हो सकी, न वापस मिली। ";
    else if (t.recovered == 0)
      out += ", जिसमें से " + formatRupeesIndian(t.frozen) +
             " फ्रीज़ कराए गए; अभी तक कोई राशि वापस नहीं मिली। ";
    else
      out += ", जिसमें से " + formatRupeesIndian(t.frozen) + " फ्रीज़ कराए गए और " +
             formatRupeesIndian(t.recovered) + " पीड़ितों को वापस दिलाए गए। ";
    std::vector<std::string> f, s;
    for (const Ranked& x : frauds) f.push_back(x.hi + " (" + casesHi(x.cases) + ")");
    for (const Ranked& x : stations) s.push_back(x.hi + " (" + std::to_string(x.cases) + ")");
    out += "सबसे अधिक मामले " + joined(f, "और") + " के रहे। थानों में सबसे अधिक मामले " + joined(s, "और") +
           " में दर्ज हुए। ";
  }
  out +=
      "ठग बैंक, केवाईसी डेस्क या किसी सरकारी कार्यालय का कर्मचारी बनकर फ़ोन करते हैं और लोगों से "
      "उनके बैंक या आधार का विवरण और फ़ोन पर आया ओटीपी माँगते हैं।\n\n"
      "अनुरोध है कि सूचीबद्ध सभी क्षेत्रों में समाचार पत्रों, रेडियो, एसएमएस, सोशल मीडिया, "
      "पंचायतों, विद्यालयों और बैंकों के माध्यम से जनता को सावधान किया जाए:\n"
      "- किसी भी फ़ोन कॉल, एसएमएस या लिंक पर अपने बैंक खाते या कार्ड का विवरण, यूपीआई पिन, "
      "ओटीपी या आधार का विवरण कभी साझा न करें। कोई भी बैंक या सरकारी कार्यालय यह जानकारी नहीं "
      "माँगता।\n"
      "- ठगी होने पर तुरंत 1930 पर कॉल करें (जितनी जल्दी शिकायत, उतनी अधिक राशि फ्रीज़ हो सकती "
      "है) या cybercrime.gov.in पर शिकायत दर्ज करें।";
  if (!draft.respondBy.empty())
    out += "\n\nकृपया की गई कार्रवाई की सूचना " + draft.respondBy + " तक भेजें।";
  return out;
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
  // Every station's area, those with most cases first.
  std::vector<Ranked> areas = stations;
  std::stable_sort(areas.begin(), areas.end(),
                   [](const Ranked& a, const Ranked& b) { return a.cases > b.cases; });
  frauds = topOf(frauds);
  stations = topOf(stations);

  const std::string districtEn = r.district.empty() ? "the district" : r.district + " district";
  const std::string districtHi = r.districtHi.empty() ? "जिला" : r.districtHi + " जिला";
  rapidjson::StringBuffer buf;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buf);
  w.SetIndent(' ', 2);
  w.StartObject();
  w.Key("letter_no");
  w.String(draft.letterNo);
  w.Key("subject");
  w.StartObject();
  w.Key("hi");
  w.String("साइबर ठगी के विरुद्ध जन-जागरूकता — " + districtHi + ", " + r.period.from.hindi() +
           " के मामले");
  w.Key("en");
  w.String("Public awareness against cyber fraud — " + districtEn + ", cases of " +
           r.period.from.english());
  w.EndObject();
  w.Key("text");
  w.StartObject();
  w.Key("hi");
  w.String(hindiText(r, frauds, stations, draft));
  w.Key("en");
  w.String(englishText(r, frauds, stations, draft));
  w.EndObject();
  w.Key("audience");
  w.String(
      "आम जनता, विशेषकर बैंक ग्राहक, विद्यार्थी, महिलाएँ और वरिष्ठ नागरिक / the general public, "
      "especially bank customers, students, women and senior citizens");
  w.Key("areas");
  w.StartArray();
  for (const Ranked& a : areas) w.String(a.hi == a.en ? a.en : a.hi + " (" + a.en + ")");
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
