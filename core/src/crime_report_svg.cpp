// The cyber-crime graph as SVG, drawn by the hub itself: grouped bars (cases per station, one
// bar per category), a month-by-month line of the district's total, a title with the district
// and the period, axis labels and a legend. Hindi first where there is a Hindi name, English
// beside it; a font stack that has Devanagari. Every bar and point carries data-* attributes and
// a <title>, so a reader hovering (or a test) can tell exactly what it stands for.
#include <algorithm>
#include <cstdio>

#include "crime_report_formats.h"
#include "money.h"

namespace dx {

namespace {

constexpr const char* kFont = "'Noto Sans Devanagari', 'Noto Sans', 'Mangal', sans-serif";
// One colour per category, crimeCategories() order; told apart also without colour vision
// (Okabe-Ito, then three more).
constexpr const char* kColours[] = {"#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9",
                                    "#D55E00", "#B8A200", "#7F3C8D", "#8C8C8C"};

// Canvas and panels, in px.
constexpr double kWidth = 1120, kHeight = 780;
constexpr double kLeft = 80, kRight = 860;           // plot areas; the legend is right of them
constexpr double kBarsTop = 110, kBarsBottom = 400;  // cases per station and category
constexpr double kLineTop = 545, kLineBottom = 690;  // district total per month

std::string xml(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

// "Samastipur Nagar (समस्तीपुर नगर)", or just the name when there is no Hindi one.
std::string bothNames(const std::string& en, const std::string& hi) {
  return hi.empty() ? en : en + " (" + hi + ")";
}

// <text> at (x, y) with extra attributes, its content escaped.
std::string text(double x, double y, const std::string& content, const std::string& attrs = {}) {
  return "<text x=\"" + num(x) + "\" y=\"" + num(y) + "\"" + (attrs.empty() ? "" : " " + attrs) +
         ">" + xml(content) + "</text>\n";
}

// The top of a value axis: a round number ≥ max, in steps of 1, 2 or 5 × 10^k, at most 5 steps.
struct Axis {
  int top, step;
};
Axis niceAxis(int max) {
  for (int scale = 1;; scale *= 10)
    for (int base : {1, 2, 5}) {
      int step = base * scale;
      if (step * 5 >= std::max(max, 1)) return {(std::max(max, 1) + step - 1) / step * step, step};
    }
}

// Horizontal grid lines and their numbers, from `bottom` (0) up to `top` (axis.top).
std::string gridLines(const Axis& axis, double top, double bottom) {
  std::string out = "<g class=\"grid\" stroke=\"#dddddd\" stroke-width=\"1\">\n";
  std::string labels =
      "<g class=\"tick-labels\" font-size=\"11\" fill=\"#555555\" "
      "text-anchor=\"end\">\n";
  for (int v = 0; v <= axis.top; v += axis.step) {
    double y = bottom - (bottom - top) * v / axis.top;
    out += "<line x1=\"" + num(kLeft) + "\" y1=\"" + num(y) + "\" x2=\"" + num(kRight) +
           "\" y2=\"" + num(y) + "\"/>\n";
    labels += text(kLeft - 8, y + 4, std::to_string(v));
  }
  return out + "</g>\n" + labels + "</g>\n";
}

// A panel's base line, its value axis label ("Cases", turned) and its category axis label.
std::string axes(double top, double bottom, const std::string& xLabel, double xLabelY) {
  const double middle = (top + bottom) / 2;
  return "<line class=\"axis\" x1=\"" + num(kLeft) + "\" y1=\"" + num(bottom) + "\" x2=\"" +
         num(kRight) + "\" y2=\"" + num(bottom) + "\" stroke=\"#333333\"/>\n" +
         text(24, middle, "मामले / Cases",
              "class=\"axis-label\" font-size=\"13\" text-anchor=\"middle\" "
              "transform=\"rotate(-90 " +
                  num(24) + " " + num(middle) + ")\"") +
         text((kLeft + kRight) / 2, xLabelY, xLabel,
              "class=\"axis-label\" font-size=\"13\" text-anchor=\"middle\"");
}

std::string header(const CrimeReport& r) {
  const Tally total = r.total();
  std::string district = r.district.empty() ? "District" : r.district + " district";
  std::string title = r.districtHi.empty()
                          ? "Cyber-crime cases, " + district
                          : r.districtHi + " जिला — साइबर अपराध / Cyber-crime cases, " + district;
  std::string period = r.months.size() == 1
                           ? r.period.from.hindi() + " / " + r.period.from.english()
                           : r.period.from.hindi() + " – " + r.period.to.hindi() + " / " +
                                 r.period.from.english() + " – " + r.period.to.english();
  std::string figures = std::to_string(total.cases) + " मामले / cases · लोगों के गए / lost " +
                        formatRupeesIndian(total.lost) + " · फ्रीज़ / frozen " +
                        formatRupeesIndian(total.frozen) + " · वापस / recovered " +
                        formatRupeesIndian(total.recovered);
  return "<title>" + xml(title + ", " + r.period.from.english() + " – " + r.period.to.english()) +
         "</title>\n" +
         text(kLeft, 36, title, "class=\"title\" font-size=\"22\" font-weight=\"bold\"") +
         text(kLeft, 62, "अवधि / Period: " + period, "class=\"period\" font-size=\"14\"") +
         text(kLeft, 84, figures, "class=\"figures\" font-size=\"13\" fill=\"#333333\"");
}

std::string legend() {
  std::string out = "<g class=\"legend\" font-size=\"12\">\n";
  out += text(kRight + 30, kBarsTop - 8, "अपराध का प्रकार / Category",
              "font-weight=\"bold\" font-size=\"13\"");
  const auto& categories = crimeCategories();
  for (std::size_t c = 0; c < categories.size(); ++c) {
    double y = kBarsTop + 8 + 30.0 * static_cast<double>(c);
    out += "<g class=\"legend-item\" data-category=\"" + std::string(categories[c].id) + "\">";
    out += "<rect x=\"" + num(kRight + 30) + "\" y=\"" + num(y) +
           "\" width=\"14\" height=\"14\" fill=\"" + kColours[c] + "\"/>";
    out += text(kRight + 52, y + 7, categories[c].hi, "font-size=\"12\"");
    out += text(kRight + 52, y + 21, categories[c].en, "font-size=\"11\" fill=\"#555555\"");
    out += "</g>\n";
  }
  return out + "</g>\n";
}

// Cases per station over the whole period, one bar per category that has cases.
std::string stationBars(const CrimeReport& r) {
  const auto& categories = crimeCategories();
  const std::size_t nStations = std::max<std::size_t>(r.stations.size(), 1);
  std::vector<std::vector<Tally>> sums(r.stations.size(), std::vector<Tally>(categories.size()));
  int max = 0;
  for (std::size_t s = 0; s < r.stations.size(); ++s)
    for (std::size_t c = 0; c < categories.size(); ++c) {
      for (std::size_t m = 0; m < r.months.size(); ++m) sums[s][c].add(r.cell(s, c, m));
      max = std::max(max, sums[s][c].cases);
    }
  const Axis axis = niceAxis(max);
  const double groupWidth = (kRight - kLeft) / static_cast<double>(nStations);
  const double barWidth = groupWidth * 0.84 / static_cast<double>(categories.size());
  const double plotHeight = kBarsBottom - kBarsTop;

  std::string out = "<g class=\"station-bars\">\n" + gridLines(axis, kBarsTop, kBarsBottom);
  for (std::size_t s = 0; s < r.stations.size(); ++s) {
    const ReportStation& station = r.stations[s];
    const double groupLeft = kLeft + groupWidth * static_cast<double>(s) + groupWidth * 0.08;
    const double centre = kLeft + groupWidth * (static_cast<double>(s) + 0.5);
    for (std::size_t c = 0; c < categories.size(); ++c) {
      const Tally& t = sums[s][c];
      if (t.cases == 0) continue;
      const double h = plotHeight * t.cases / axis.top;
      const double x = groupLeft + barWidth * static_cast<double>(c);
      out += "<rect class=\"bar\" data-station=\"" + xml(station.id) + "\" data-category=\"" +
             categories[c].id + "\" data-cases=\"" + std::to_string(t.cases) + "\" x=\"" + num(x) +
             "\" y=\"" + num(kBarsBottom - h) + "\" width=\"" + num(barWidth - 1) + "\" height=\"" +
             num(h) + "\" fill=\"" + kColours[c] + "\"><title>" +
             xml(bothNames(station.name, station.nameHi) + " — " + categories[c].en + " (" +
                 categories[c].hi + "): " + std::to_string(t.cases) + " cases, " +
                 formatRupeesIndian(t.lost) + " lost") +
             "</title></rect>\n";
      out += text(x + barWidth / 2, kBarsBottom - h - 3, std::to_string(t.cases),
                  "class=\"bar-value\" font-size=\"10\" text-anchor=\"middle\" fill=\"#333333\"");
    }
    const int stationCases = r.stationTotal(s).cases;
    out += "<g class=\"station-label\" text-anchor=\"middle\" data-station=\"" + xml(station.id) +
           "\">\n";
    out += text(centre, kBarsBottom + 20, station.nameHi.empty() ? station.name : station.nameHi,
                "font-size=\"14\"");
    if (!station.nameHi.empty())
      out += text(centre, kBarsBottom + 37, station.name, "font-size=\"12\" fill=\"#555555\"");
    out += text(centre, kBarsBottom + 54, std::to_string(stationCases) + " मामले / cases",
                "font-size=\"11\" fill=\"#555555\"");
    out += "</g>\n";
  }
  out += axes(kBarsTop, kBarsBottom, "थाना / Police station", kBarsBottom + 78);
  return out + "</g>\n";
}

// The district's total cases month by month.
std::string totalLine(const CrimeReport& r) {
  const std::size_t n = r.months.size();
  std::vector<int> totals;
  int max = 0;
  for (std::size_t m = 0; m < n; ++m) {
    totals.push_back(r.monthTotal(m).cases);
    max = std::max(max, totals.back());
  }
  const Axis axis = niceAxis(max);
  const double step = (kRight - kLeft) / static_cast<double>(n);
  auto x = [&](std::size_t m) { return kLeft + step * (static_cast<double>(m) + 0.5); };
  auto y = [&](int v) { return kLineBottom - (kLineBottom - kLineTop) * v / axis.top; };
  const std::size_t labelEvery = (n + 7) / 8;

  std::string out = "<g class=\"district-total\">\n";
  out += text(kLeft, kLineTop - 22, "जिले में कुल मामले, माह-दर-माह / District total, month by month",
              "class=\"panel-title\" font-size=\"15\" font-weight=\"bold\"");
  out += gridLines(axis, kLineTop, kLineBottom);
  std::string points;
  for (std::size_t m = 0; m < n; ++m) {
    if (m > 0) points += ' ';
    points += num(x(m));
    points += ',';
    points += num(y(totals[m]));
  }
  out += "<polyline class=\"total-line\" data-series=\"district-total\" points=\"" + points +
         "\" fill=\"none\" stroke=\"#B2182B\" stroke-width=\"3\"/>\n";
  for (std::size_t m = 0; m < n; ++m) {
    out +=
        "<circle class=\"total-point\" data-month=\"" + r.months[m].text() + "\" data-cases=\"" +
        std::to_string(totals[m]) + "\" cx=\"" + num(x(m)) + "\" cy=\"" + num(y(totals[m])) +
        "\" r=\"5\" fill=\"#B2182B\"><title>" +
        xml(r.months[m].english() + ": " + std::to_string(totals[m]) + " cases in the district") +
        "</title></circle>\n";
    out +=
        text(x(m), y(totals[m]) - 10, std::to_string(totals[m]),
             "class=\"point-value\" font-size=\"12\" font-weight=\"bold\" text-anchor=\"middle\"");
    if (m % labelEvery != 0) continue;  // a long period: every k-th month named, not overlapping
    out += text(x(m), kLineBottom + 18, r.months[m].hindi(),
                "font-size=\"12\" text-anchor=\"middle\"");
    out += text(x(m), kLineBottom + 34, r.months[m].english(),
                "font-size=\"11\" text-anchor=\"middle\" fill=\"#555555\"");
  }
  out += axes(kLineTop, kLineBottom, "माह / Month", kLineBottom + 56);
  return out + "</g>\n";
}

}  // namespace

std::string crimeReportSvg(const CrimeReport& r) {
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(kWidth) + "\" height=\"" +
         num(kHeight) + "\" viewBox=\"0 0 " + num(kWidth) + " " + num(kHeight) +
         "\" role=\"img\" font-family=\"" + xml(kFont) + "\">\n";
  out += "<rect class=\"background\" width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n";
  out += header(r) + legend() + stationBars(r) + totalLine(r);
  out += text(kLeft, kHeight - 14,
              "स्रोत / Source: थानों के station.record संदेश, जिला हब में सुरक्षित / the stations' "
              "station.record messages stored by the district hub (dxhub)",
              "class=\"source\" font-size=\"11\" fill=\"#777777\"");
  return out + "</svg>\n";
}

}  // namespace dx
