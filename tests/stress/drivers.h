#pragma once
// The stress drivers of `dx_stress` (tests/stress/stress_main.cpp). Each takes its own flags
// ("--name value"; --figures FILE writes its figures there) and returns an exit status of
// stress_support.h (0 passed, 1 failed, 77 skipped).
namespace dx::stress {

int crashLoop(int argc, char** argv);    // crash-loop [--kills N] [--seed S]
int diskFull(int argc, char** argv);     // disk-full  [--size-mib N]
int peerFaults(int argc, char** argv);   // peer-faults [--messages N]
int slowClients(int argc, char** argv);  // slow-clients [--attackers N] [--seconds S]

}  // namespace dx::stress
