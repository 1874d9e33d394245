#pragma once
// TEMPORARY instrumentation (not to be committed)
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cmath>
namespace dx::probe {
using Clock = std::chrono::steady_clock;
struct Hist {
  const char* name;
  std::atomic<long> b[64]{};
  std::atomic<long> n{0};
  void add(Clock::duration d) {
    double us = std::chrono::duration<double, std::micro>(d).count();
    int i = us < 1 ? 0 : std::min(63, int(std::log2(us) * 4));
    b[i]++; n++;
  }
  void print() const {
    long total = n; if (!total) return;
    long acc = 0; double q[] = {0.5, 0.9, 0.99, 0.999}; int qi = 0;
    std::fprintf(stderr, "PROBE %-10s n=%ld", name, total);
    for (int i = 0; i < 64 && qi < 4; ++i) { acc += b[i]; while (qi < 4 && acc >= q[qi] * total) { std::fprintf(stderr, " p%g<=%.0fus", q[qi]*100, std::pow(2.0, (i + 1) / 4.0)); ++qi; } }
    std::fprintf(stderr, "\n");
  }
};
inline Hist pre{"pre"}, queue{"queue"}, commit{"commit"}, wake{"wake"}, total{"total"}, slot{"slot"}, verify{"verify"};
struct Printer { ~Printer() { for (Hist* h : {&slot, &verify, &pre, &queue, &commit, &wake, &total}) h->print(); } };
inline Printer printer;
inline thread_local Clock::time_point picked, done;
}
