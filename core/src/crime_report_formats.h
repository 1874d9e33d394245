#pragma once
// The three answers of GET /v1/reports/cyber-crime (format=json|csv|svg), each made from a
// CrimeReport. All are UTF-8 text; names in Hindi stay Devanagari.
#include <string>

#include "crime_report.h"

namespace dx {

// The report as JSON (the shape is documented in README.md, "The cyber-crime graph").
std::string crimeReportJson(const CrimeReport& report);
// CSV (RFC 4180, CRLF, UTF-8 with a byte order mark): a header row, then one row per station ×
// month × category of the period, zeros included, so a pivot table has no holes.
std::string crimeReportCsv(const CrimeReport& report);
// The graph the SP takes to the monthly meeting, drawn by the hub (crime_report_svg.cpp).
std::string crimeReportSvg(const CrimeReport& report);

}  // namespace dx
