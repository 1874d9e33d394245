// dx_stress: the stress suite's drivers in one program (README "Stress suite"; `make stress`).
//   dx_stress crash-loop|disk-full|peer-faults|slow-clients [--figures FILE] [flags]
#include <cstring>
#include <exception>
#include <iostream>

#include "drivers.h"
#include "stress_support.h"

int main(int argc, char** argv) {
  using namespace dx::stress;
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    std::cout << "usage: dx_stress crash-loop|disk-full|peer-faults|slow-clients "
                 "[--figures FILE] [flags]\n"
                 "  crash-loop    [--kills N (30)] [--seed S]\n"
                 "  disk-full     [--size-mib N (8)]\n"
                 "  peer-faults   [--messages N per bank and fault (5)]\n"
                 "  slow-clients  [--attackers N (300)] [--seconds S (10)] [--bound X (2)]\n"
                 "                [--max-connections N (config/dxhub.json)]\n"
                 "Exit status: 0 passed, 1 failed, 2 usage, 77 skipped (the reason on stderr).\n";
    return argc < 2 ? kUsage : kPassed;
  }
  std::string which = argv[1];
  try {
    if (which == "crash-loop") return crashLoop(argc - 2, argv + 2);
    if (which == "disk-full") return diskFull(argc - 2, argv + 2);
    if (which == "peer-faults") return peerFaults(argc - 2, argv + 2);
    if (which == "slow-clients") return slowClients(argc - 2, argv + 2);
    std::cerr << "dx_stress: unknown driver " << which << " (see --help)\n";
    return kUsage;
  } catch (const std::invalid_argument& e) {
    std::cerr << "dx_stress " << which << ": " << e.what() << " (see --help)\n";
    return kUsage;
  } catch (const std::exception& e) {
    std::cerr << "dx_stress " << which << ": " << e.what() << "\n";
    return kFailed;
  }
}
